/// Image resizing by a separable filter, as Pillow's `Image.resize` computes
/// it for 32-bit float images with `Image.BILINEAR`
/// (libImaging/Resample.c): a triangle filter whose support widens by the
/// scale factor when shrinking, so a downscale averages every source pixel
/// it covers (no aliasing) and an upscale interpolates linearly. Pixel
/// centres sit at +0.5, weights are normalised to sum to 1, sums are taken
/// in Double, and the horizontal pass runs first, as in Pillow.
public enum Resampling {
  /// Resizes `channels` planes (C, H, W) to (C, toHeight, toWidth).
  public static func resize(
    _ planes: [Float], channels: Int, height: Int, width: Int, toHeight: Int, toWidth: Int
  ) -> [Float] {
    precondition(height > 0 && width > 0 && toHeight > 0 && toWidth > 0, "empty image")
    precondition(planes.count == channels * height * width, "planes do not match the size")
    var current = planes
    var w = width
    if toWidth != width {
      let taps = coefficients(inputSize: width, outputSize: toWidth)
      var out = [Float](repeating: 0, count: channels * height * toWidth)
      for row in 0..<(channels * height) {
        for x in 0..<toWidth {
          var sum = 0.0
          for (k, weight) in taps.weights[x].enumerated() {
            sum += Double(current[row * width + taps.first[x] + k]) * weight
          }
          out[row * toWidth + x] = Float(sum)
        }
      }
      current = out
      w = toWidth
    }
    if toHeight != height {
      let taps = coefficients(inputSize: height, outputSize: toHeight)
      var out = [Float](repeating: 0, count: channels * toHeight * w)
      for c in 0..<channels {
        for y in 0..<toHeight {
          for x in 0..<w {
            var sum = 0.0
            for (k, weight) in taps.weights[y].enumerated() {
              sum += Double(current[(c * height + taps.first[y] + k) * w + x]) * weight
            }
            out[(c * toHeight + y) * w + x] = Float(sum)
          }
        }
      }
      current = out
    }
    return current
  }

  /// For each output index, the first input index it reads and the weights
  /// of the inputs from there on (Pillow's `precompute_coeffs`).
  static func coefficients(
    inputSize: Int, outputSize: Int
  )
    -> (first: [Int], weights: [[Double]])
  {
    let scale = Double(inputSize) / Double(outputSize)
    let filterScale = max(scale, 1)
    let support = 1.0 * filterScale  // the triangle filter's support is 1
    let reciprocal = 1 / filterScale
    var first: [Int] = []
    var weights: [[Double]] = []
    for i in 0..<outputSize {
      let center = (Double(i) + 0.5) * scale
      // Int() truncates toward zero, as C's (int) cast in Pillow.
      let low = max(Int(center - support + 0.5), 0)
      let high = min(Int(center + support + 0.5), inputSize)
      var row = (low..<high).map { j in triangle((Double(j) - center + 0.5) * reciprocal) }
      let total = row.reduce(0, +)
      if total != 0 { row = row.map { $0 / total } }
      first.append(low)
      weights.append(row)
    }
    return (first, weights)
  }

  private static func triangle(_ x: Double) -> Double {
    let t = abs(x)
    return t < 1 ? 1 - t : 0
  }
}
