import Foundation

/// "Nice" tick positions for an axis: steps of 1, 2 or 5 × 10ⁿ.
///
/// Heckbert's labelling algorithm ("Nice numbers for graph labels", Graphics
/// Gems, 1990): the axis is widened outwards to whole steps, so `lo` and `hi`
/// are themselves ticks and cover the data.
public struct AxisTicks: Equatable, Sendable {
  /// The axis range, widened to whole steps.
  public let lo: Double
  public let hi: Double
  public let step: Double
  /// Tick positions from lo to hi inclusive.
  public let values: [Double]

  /// Ticks covering dataLo…dataHi with about `targetCount` ticks (at least
  /// 2), `minimumStep` apart at least (1 for integer axes such as epochs).
  /// An empty range is widened by ±0.5 around its value (±1 around 0).
  public init(
    covering dataLo: Double, _ dataHi: Double, targetCount: Int = 6,
    minimumStep: Double = 0
  ) {
    precondition(dataLo <= dataHi, "axis range \(dataLo)…\(dataHi) is reversed")
    var lo = dataLo
    var hi = dataHi
    if hi - lo < 1e-12 * max(abs(lo), abs(hi), 1) {
      let pad = lo == 0 ? 1 : max(abs(lo) * 0.5, 1e-6)
      lo -= pad
      hi += pad
    }
    let span = Self.nice(hi - lo, rounded: false)
    let step = max(Self.nice(span / Double(max(targetCount - 1, 1)), rounded: true), minimumStep)
    let first = floor(lo / step + 1e-9) * step
    let last = ceil(hi / step - 1e-9) * step
    let count = Int(((last - first) / step).rounded()) + 1
    self.step = step
    self.values = (0..<count).map { Self.clean(first + Double($0) * step, step: step) }
    // count ≥ 1 because last ≥ first, so these are the first and last ticks.
    self.lo = Self.clean(first, step: step)
    self.hi = Self.clean(first + Double(count - 1) * step, step: step)
  }

  /// The nice number near x: 1, 2, 5 or 10 times a power of ten; `rounded`
  /// picks the nearest, otherwise the smallest one ≥ x.
  static func nice(_ x: Double, rounded: Bool) -> Double {
    let exponent = floor(log10(x))
    let fraction = x / pow(10, exponent)
    let niceFraction: Double
    if rounded {
      niceFraction = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
    } else {
      niceFraction = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
    }
    return niceFraction * pow(10, exponent)
  }

  /// The tick nearest v as k × step computed so that decimal ticks are the
  /// doubles their labels name (0.6, not 3 × 0.2 = 0.6000000000000001).
  private static func clean(_ v: Double, step: Double) -> Double {
    let k = (v / step).rounded()
    let exponent = floor(log10(step) + 1e-9)
    let mantissa = (step / pow(10, exponent)).rounded()
    let r = exponent < 0 ? k * mantissa / pow(10, -exponent) : k * mantissa * pow(10, exponent)
    return r == 0 ? 0 : r
  }
}
