import ImageCodecs
import Tensors

/// Conversions between images and the engine's input tensors.
public enum ImageTensor {
  /// A (1, channels, H, W) tensor with samples scaled to 0…1 (x / 255, as
  /// the MNIST and CIFAR loaders do). One channel takes ITU-R 601 luma
  /// (`Image.converted(to: .gray)`); three take R, G, B. Alpha is dropped.
  public static func tensor(from image: Image, channels: Int) -> Tensor {
    precondition(channels == 1 || channels == 3, "models take 1 or 3 input channels, not \(channels)")
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
