/// How numbers and counts read in convviz's messages.
enum TextFormat {
  /// `value` with exactly `places` decimals, never "-0.00" (no Foundation
  /// formatting needed).
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

  /// Seconds as `m:ss`, or `h:mm:ss` from an hour on.
  static func clockTime(_ seconds: Double) -> String {
    let total = Int(max(seconds, 0).rounded())
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
    let ss = s < 10 ? "0\(s)" : "\(s)"
    if h > 0 { return "\(h):" + (m < 10 ? "0\(m)" : "\(m)") + ":" + ss }
    return "\(m):" + ss
  }

  /// The shortest text that reads back as `value`: 2 → "2", 2.5 → "2.5".
  static func shortest(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    return "\(value)"
  }

  static func shortest(_ value: Float) -> String {
    if value == value.rounded(), abs(value) < 1e7 { return String(Int(value)) }
    return "\(value)"
  }
}

/// "1 epoch", "2 epochs": `noun` is singular; the plural adds "s".
func plural(_ count: Int, _ noun: String) -> String {
  count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
}
