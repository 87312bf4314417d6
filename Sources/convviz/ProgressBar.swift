import Synchronization

/// The one progress bar: a line on stderr, redrawn in place, for training
/// epochs, many files and long evaluations.
///
///     epoch 2/8  270/540 [=========>.........]  0:12<0:12  loss 0.2345  accuracy 0.9312
///
/// It is drawn only when stderr is a terminal and the work has at least
/// `minimumSteps` steps, so logs and pipes never see it; stdout stays clean
/// either way. Redraws are throttled to about ten a second so that drawing
/// never costs work time. Safe to advance from several threads.
final class ProgressBar: Sendable {
  private struct State {
    var done = 0
    var detail = ""
    var lastDraw: ContinuousClock.Instant?
  }

  let label: String
  let total: Int
  private let enabled: Bool
  private let width = 24
  private let start = ContinuousClock.now
  private let state = Mutex(State())

  init(label: String, total: Int, minimumSteps: Int = 1) {
    self.label = label
    self.total = total
    enabled = total >= minimumSteps && Terminal.standardErrorIsTerminal
  }

  /// Whether the bar is shown (stderr is a terminal and the work is long enough).
  var isDrawn: Bool { enabled }

  /// `done` steps finished; `detail` follows the times (running metrics).
  func update(done: Int, detail: String = "") {
    guard enabled else { return }
    state.withLock { state in
      state.done = done
      state.detail = detail
      draw(&state)
    }
  }

  /// One more step finished.
  func advance() {
    guard enabled else { return }
    state.withLock { state in
      state.done += 1
      draw(&state)
    }
  }

  /// Erases the bar; what is printed next takes its line.
  func finish() {
    guard enabled else { return }
    Terminal.hideProgress()
  }

  /// Unless drawn less than 0.1 s ago; the last step is always drawn.
  private func draw(_ state: inout State) {
    let now = ContinuousClock.now
    if let last = state.lastDraw, state.done < total, now - last < .milliseconds(100) { return }
    state.lastDraw = now
    Terminal.showProgress(
      Self.render(
        label: label, done: state.done, total: total, elapsed: Self.seconds(now - start),
        detail: state.detail, width: width))
  }

  /// The bar's text: label, count, bar, elapsed<remaining, then `detail`.
  ///
  /// The remaining time is extrapolated from the average pace so far and
  /// shown as `?` before the first step.
  static func render(
    label: String, done: Int, total: Int, elapsed: Double, detail: String = "", width: Int = 24
  ) -> String {
    let fraction = total > 0 ? min(max(Double(done) / Double(total), 0), 1) : 1
    let filled = Int(fraction * Double(width))
    var bar = String(repeating: "=", count: filled)
    if filled < width { bar += ">" + String(repeating: ".", count: width - filled - 1) }
    let remaining =
      done > 0 ? TextFormat.clockTime(elapsed / Double(done) * Double(total - done)) : "?"
    let digits = String(total).count
    let count = String(repeating: " ", count: max(digits - String(done).count, 0)) + "\(done)"
    let line =
      "\(label)  \(count)/\(total) [\(bar)]  \(TextFormat.clockTime(elapsed))<\(remaining)"
    return detail.isEmpty ? line : line + "  " + detail
  }

  private static func seconds(_ duration: Duration) -> Double {
    let (s, attoseconds) = duration.components
    return Double(s) + Double(attoseconds) * 1e-18
  }
}
