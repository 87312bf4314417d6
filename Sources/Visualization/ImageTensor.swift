import ImageCodecs
import Tensors

/// Model input drawn as a picture. (Images become tensors in one place,
/// `Datasets.PixelConversion`; this is the way back, for display.)
public enum ImageTensor {
  /// The first sample of a (N, 1 or 3, H, W) tensor with values in 0…1 as
  /// an 8-bit gray or RGB image (values clamped, rounded).
  public static func image(from tensor: Tensor, sample n: Int = 0) -> Image {
    precondition(
      tensor.shape.rank == 4 && (tensor.shape[1] == 1 || tensor.shape[1] == 3),
      "expected (N, 1 or 3, H, W), got \(tensor.shape)")
    let (c, h, w) = (tensor.shape[1], tensor.shape[2], tensor.shape[3])
    var samples = [UInt8](repeating: 0, count: c * h * w)
    for y in 0..<h {
      for x in 0..<w {
        for k in 0..<c {
          let v = tensor.storage[tensor.offset(n: n, c: k, y: y, x: x)]
          samples[(y * w + x) * c + k] = UInt8((min(max(v, 0), 1) * 255).rounded())
        }
      }
    }
    return Image(width: w, height: h, layout: c == 1 ? .gray : .rgb, samples: samples)
  }
}
