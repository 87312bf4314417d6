import Foundation
import Tensors

extension Bilinear {
  /// A bilinear affine warp of (C, H, W) images about their centre: scale,
  /// rotation, then shift; samples outside the image read the nearest
  /// edge pixel (so the edges get gradient too, and no dark frame
  /// appears). Its
  /// transpose carries a gradient at the warped image back to the
  /// original, so that optimisation can see through random transforms
  /// (Lucid's `transform.jitter`, `random_scale`, `random_rotate`).
  ///
  /// Output pixel p reads the source at A⁻¹(p − c − t) + c, A = s·R(θ),
  /// c = ((W − 1)/2, (H − 1)/2): with s = 1, θ = 0 and whole-pixel shifts
  /// every output is one source pixel.
  public struct Warp: Sendable {
    public let height: Int
    public let width: Int
    /// Per output pixel, four source indices and weights.
    let taps: [Int]
    let weights: [Float]

    /// `rotation` in degrees, counter-clockwise on screen (y down);
    /// `shiftX`, `shiftY` in pixels, right and down.
    public init(
      height: Int, width: Int, scale: Float = 1, rotation: Float = 0, shiftX: Float = 0,
      shiftY: Float = 0
    ) {
      precondition(height >= 1 && width >= 1 && scale > 0, "empty image or scale")
      self.height = height
      self.width = width
      let radians = Double(rotation) * Double.pi / 180
      let (cosA, sinA) = (cos(radians), sin(radians))
      let (cx, cy) = (Double(width - 1) / 2, Double(height - 1) / 2)
      var taps = [Int](repeating: 0, count: 4 * height * width)
      var weights = [Float](repeating: 0, count: 4 * height * width)
      for y in 0..<height {
        for x in 0..<width {
          // The inverse map: undo the shift, then the rotation and scale.
          let (rx, ry) = (
            (Double(x) - cx - Double(shiftX)) / Double(scale),
            (Double(y) - cy - Double(shiftY)) / Double(scale)
          )
          let fx = cosA * rx - sinA * ry + cx
          let fy = sinA * rx + cosA * ry + cy
          let (x0, y0) = (Int(fx.rounded(.down)), Int(fy.rounded(.down)))
          let (ax, ay) = (Float(fx - Double(x0)), Float(fy - Double(y0)))
          let corners = [
            (y0, x0, (1 - ay) * (1 - ax)), (y0, x0 + 1, (1 - ay) * ax),
            (y0 + 1, x0, ay * (1 - ax)), (y0 + 1, x0 + 1, ay * ax),
          ]
          let base = 4 * (y * width + x)
          for (j, (sy, sx, weight)) in corners.enumerated() {
            taps[base + j] = min(max(sy, 0), height - 1) * width + min(max(sx, 0), width - 1)
            weights[base + j] = weight
          }
        }
      }
      self.taps = taps
      self.weights = weights
    }

    /// `image`'s `channels` planes warped.
    public func apply(_ image: ArraySlice<Float>, channels: Int) -> [Float] {
      let plane = height * width
      precondition(image.count == channels * plane, "the image is not C×H×W")
      let start = image.startIndex
      var out = [Float](repeating: 0, count: channels * plane)
      for c in 0..<channels {
        for p in 0..<plane {
          var sum: Float = 0
          for j in 0..<4 {
            sum += weights[4 * p + j] * image[start + c * plane + taps[4 * p + j]]
          }
          out[c * plane + p] = sum
        }
      }
      return out
    }

    /// The transpose: each output's gradient spread back over the source
    /// pixels it read, by the same weights.
    public func applyTransposed(_ gradient: ArraySlice<Float>, channels: Int) -> [Float] {
      let plane = height * width
      precondition(gradient.count == channels * plane, "the gradient is not C×H×W")
      let start = gradient.startIndex
      var out = [Float](repeating: 0, count: channels * plane)
      for c in 0..<channels {
        for p in 0..<plane {
          let g = gradient[start + c * plane + p]
          for j in 0..<4 {
            out[c * plane + taps[4 * p + j]] += weights[4 * p + j] * g
          }
        }
      }
      return out
    }
  }
}
