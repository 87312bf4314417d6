#if canImport(Glibc)
  import Glibc
#endif

/// A one-line terminal progress bar for an epoch, redrawn in place:
///
///     epoch 2/8  270/540 [=========>.........]  0:12<0:12  loss 0.2345  accuracy 0.9312
///
/// `render` is pure (tested); `update` throttles redraws to about ten a second
/// so that drawing never costs training time.
struct ProgressBar {
  var label: String
  var total: Int
  var width = 24
  private let clock = ContinuousClock()
  private let start: ContinuousClock.Instant
  private var lastDraw: ContinuousClock.Instant?

  init(label: String, total: Int) {
    self.label = label
    self.total = total
    self.start = clock.now
  }

  /// Seconds since the bar was created.
  var elapsed: Double { seconds(clock.now - start) }

  /// Redraws the bar on stdout unless it was drawn less than 0.1 s ago; the
  /// last step (`done == total`) is always drawn.
  mutating func update(done: Int, loss: Double, accuracy: Double) {
    let now = clock.now
    if let lastDraw, done < total, now - lastDraw < .milliseconds(100) { return }
    lastDraw = now
    let line = Self.render(
      label: label, done: done, total: total, elapsed: seconds(now - start), loss: loss,
      accuracy: accuracy, width: width)
    print("\r" + line + "\u{1B}[K", terminator: "")
    fflush(nil)
  }

  /// Erases the bar so the caller's summary line replaces it.
  func clear() {
    print("\r\u{1B}[K", terminator: "")
    fflush(nil)
  }

  /// The bar's text: label, count, bar, elapsed<remaining, running metrics.
  ///
  /// The remaining time is extrapolated from the average pace so far and
  /// shown as `?` before the first step.
  static func render(
    label: String, done: Int, total: Int, elapsed: Double, loss: Double, accuracy: Double,
    width: Int = 24
  ) -> String {
    let fraction = total > 0 ? min(max(Double(done) / Double(total), 0), 1) : 1
    let filled = Int(fraction * Double(width))
    var bar = String(repeating: "=", count: filled)
    if filled < width { bar += ">" + String(repeating: ".", count: width - filled - 1) }
    let remaining = done > 0 ? clockTime(elapsed / Double(done) * Double(total - done)) : "?"
    let digits = String(total).count
    let count = String(repeating: " ", count: max(digits - String(done).count, 0)) + "\(done)"
    return "\(label)  \(count)/\(total) [\(bar)]  \(clockTime(elapsed))<\(remaining)  "
      + "loss \(fixed(loss, 4))  accuracy \(fixed(accuracy, 4))"
  }

  /// Seconds as `m:ss`, or `h:mm:ss` from an hour on.
  static func clockTime(_ seconds: Double) -> String {
    let total = Int(max(seconds, 0).rounded())
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
    let ss = s < 10 ? "0\(s)" : "\(s)"
    if h > 0 { return "\(h):" + (m < 10 ? "0\(m)" : "\(m)") + ":" + ss }
    return "\(m):" + ss
  }

  /// `value` with exactly `places` decimals (no Foundation formatting needed).
  static func fixed(_ value: Double, _ places: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1
    for _ in 0..<places { scale *= 10 }
    let scaled = Int((abs(value) * Double(scale)).rounded())
    let sign = value < 0 && scaled != 0 ? "-" : ""
    guard places > 0 else { return "\(sign)\(scaled)" }
    let fraction = String(scaled % scale)
    let padding = String(repeating: "0", count: places - fraction.count)
    return "\(sign)\(scaled / scale).\(padding)\(fraction)"
  }

  /// `n` with thousands separators: 933378 → "933,378".
  static func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, digit) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
      out.append(digit)
    }
    return (n < 0 ? "-" : "") + out
  }

  private func seconds(_ duration: Duration) -> Double {
    let (s, attoseconds) = duration.components
    return Double(s) + Double(attoseconds) * 1e-18
  }
}
