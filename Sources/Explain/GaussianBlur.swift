import Foundation

/// A separable Gaussian blur of (C, H, W) planes with reflected borders:
/// the blurred baseline of integrated gradients and the optional blur of
/// activation maximization.
enum GaussianBlur {
  /// Each plane blurred by a Gaussian of standard deviation `sigma`
  /// pixels, truncated at ⌈3σ⌉ (at least 1) and normalised to sum to 1;
  /// borders reflect without repeating the edge (…cb|abc…).
  static func blur(
    _ planes: ArraySlice<Float>, channels c: Int, height h: Int, width w: Int, sigma: Double
  ) -> [Float] {
    precondition(planes.count == c * h * w && sigma > 0, "planes are not C×H×W, or σ ≤ 0")
    let radius = max(1, Int((3 * sigma).rounded(.up)))
    var weights = (-radius...radius).map {
      Float(Foundation.exp(-Double($0 * $0) / (2 * sigma * sigma)))
    }
    let total = weights.reduce(0, +)
    weights = weights.map { $0 / total }
    func reflect(_ i: Int, _ n: Int) -> Int {
      guard n > 1 else { return 0 }
      var i = i
      while i < 0 || i >= n { i = i < 0 ? -i : 2 * (n - 1) - i }
      return i
    }
    let start = planes.startIndex
    var out = [Float](repeating: 0, count: c * h * w)
    for k in 0..<c {
      let base = k * h * w
      var rows = [Float](repeating: 0, count: h * w)
      for y in 0..<h {
        for x in 0..<w {
          var s: Float = 0
          for (j, wt) in weights.enumerated() {
            s += wt * planes[start + base + y * w + reflect(x + j - radius, w)]
          }
          rows[y * w + x] = s
        }
      }
      for y in 0..<h {
        for x in 0..<w {
          var s: Float = 0
          for (j, wt) in weights.enumerated() { s += wt * rows[reflect(y + j - radius, h) * w + x] }
          out[base + y * w + x] = s
        }
      }
    }
    return out
  }
}
