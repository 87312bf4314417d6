import Tensors

/// Bilinear resizing of a map, as OpenCV's `cv2.resize(…, INTER_LINEAR)`
/// (which pytorch-grad-cam uses to bring a CAM to the input size) computes
/// it: pixel centres aligned (source x = (x + 0.5)·scale − 0.5), coordinates
/// outside the map clamped to its edge pixels, no antialiasing.
public enum Bilinear {
  /// `map` (h, w) at (height, width).
  public static func resize(_ map: Tensor, height: Int, width: Int) -> Tensor {
    let (h, w) = (map.shape[0], map.shape[1])
    let ys = (0..<height).map { taps(for: $0, from: h, to: height) }
    let xs = (0..<width).map { taps(for: $0, from: w, to: width) }
    var out = Tensor(zeros: Shape(height, width))
    for (y, ty) in ys.enumerated() {
      for (x, tx) in xs.enumerated() {
        let top =
          (1 - tx.t) * map.storage[ty.i0 * w + tx.i0] + tx.t * map.storage[ty.i0 * w + tx.i1]
        let bottom =
          (1 - tx.t) * map.storage[ty.i1 * w + tx.i0] + tx.t * map.storage[ty.i1 * w + tx.i1]
        out.storage[y * width + x] = (1 - ty.t) * top + ty.t * bottom
      }
    }
    return out
  }

  /// The two source indices and the weight of the second for output index
  /// `i` when `source` samples become `target`.
  static func taps(for i: Int, from source: Int, to target: Int) -> (i0: Int, i1: Int, t: Float) {
    let position = (Double(i) + 0.5) * Double(source) / Double(target) - 0.5
    guard position > 0 else { return (0, 0, 0) }
    let i0 = Int(position)
    guard i0 < source - 1 else { return (source - 1, source - 1, 0) }
    return (i0, i0 + 1, Float(position - Double(i0)))
  }
}
