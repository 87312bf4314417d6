import Foundation

/// Short number texts for labels, ticks and summaries.
public enum NumberText {
  /// About three significant digits, no trailing zeros: 0.123, -1.5, 250,
  /// 1.2e-05. Zero is "0".
  public static func compact(_ value: Double) -> String {
    if value == 0 || !value.isFinite { return value == 0 ? "0" : "\(value)" }
    let magnitude = abs(value)
    if magnitude >= 1e-3 && magnitude < 1e5 {
      let decimals = max(0, 2 - Int(floor(log10(magnitude))))
      return trimmed(String(format: "%.\(decimals)f", value))
    }
    return String(format: "%.2g", value)
  }

  /// A tick label for `value` on an axis whose ticks are `step` apart: just
  /// enough decimals to tell neighbouring ticks apart.
  public static func tick(_ value: Double, step: Double) -> String {
    let decimals = max(0, -Int(floor(log10(step) + 1e-9)))
    let text = String(format: "%.\(decimals)f", value)
    return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
  }

  /// Fixed decimals, e.g. for tables: fixed(0.98765, 4) = "0.9877".
  public static func fixed(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
  }

  private static func trimmed(_ text: String) -> String {
    guard text.contains(".") else { return text }
    var t = Substring(text)
    while t.hasSuffix("0") { t = t.dropLast() }
    if t.hasSuffix(".") { t = t.dropLast() }
    return t == "-0" ? "0" : String(t)
  }
}
