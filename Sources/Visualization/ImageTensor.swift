import ImageCodecs
import Tensors

/// Conversions between images and the engine's input tensors.
public enum ImageTensor {
  /// A (1, channels, H, W) tensor with samples scaled to 0…1 (x / 255, as
  /// the MNIST and CIFAR loaders do). One channel takes ITU-R 601 luma
  /// (`Image.converted(to: .gray)`); three take R, G, B. Alpha is dropped.
  public static func tensor(from image: Image, channels: Int) -> Tensor {
    precondition(
      channels == 1 || channels == 3, "models take 1 or 3 input channels, not \(channels)")
    let samples = image.to8Bit().converted(to: channels == 1 ? .gray : .rgb).samples8
    let plane = image.width * image.height
    var storage = [Float](repeating: 0, count: channels * plane)
    for p in 0..<plane {
      for c in 0..<channels {
        storage[c * plane + p] = Float(samples[p * channels + c]) / 255
      }
    }
    return Tensor(shape: Shape(1, channels, image.height, image.width), storage: storage)
  }
}

extension ImageTensor {
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

extension ImageTensor {
  /// Sample `n` of a batch (N, …) as a batch of one (1, …), e.g. a fixed
  /// probe image taken from a data set.
  public static func sample(_ n: Int, of batch: Tensor) -> Tensor {
    precondition(
      batch.shape.rank >= 2 && n >= 0 && n < batch.shape[0], "sample \(n) of \(batch.shape)")
    let size = batch.count / batch.shape[0]
    return Tensor(
      shape: Shape([1] + batch.shape.dims.dropFirst()),
      storage: Array(batch.storage[(n * size)..<((n + 1) * size)]))
  }
}
