import ImageCodecs
import Tensors

/// Conversions between images and the engine's input tensors.
public enum ImageTensor {
  /// A (1, channels, H, W) tensor with samples scaled to 0…1 (x / 255, as
  /// the MNIST and CIFAR loaders do). One channel takes ITU-R 601 luma;
  /// three take R, G, B. Alpha is dropped.
  public static func tensor(from image: Image, channels: Int) -> Tensor {
    precondition(channels == 1 || channels == 3, "models take 1 or 3 input channels, not \(channels)")
    let samples = channels == 1 ? gray8(image) : rgb8(image)
    let plane = image.width * image.height
    var storage = [Float](repeating: 0, count: channels * plane)
    for p in 0..<plane {
      for c in 0..<channels {
        storage[c * plane + p] = Float(samples[p * channels + c]) / 255
      }
    }
    return Tensor(shape: Shape(1, channels, image.height, image.width), storage: storage)
  }

  /// 8-bit R, G, B samples of any image (gray is copied into all three).
  static func rgb8(_ image: Image) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: image.pixelCount * 3)
    for p in 0..<image.pixelCount {
      let (r, g, b) = pixel(image, p)
      out[3 * p] = r; out[3 * p + 1] = g; out[3 * p + 2] = b
    }
    return out
  }

  /// 8-bit gray samples: ITU-R 601-2 luma (299 R + 587 G + 114 B) / 1000,
  /// rounded, as Pillow's "L" mode.
  static func gray8(_ image: Image) -> [UInt8] {
    (0..<image.pixelCount).map { p in
      let (r, g, b) = pixel(image, p)
      let weighted: Int = 299 * Int(r) + 587 * Int(g) + 114 * Int(b)
      return UInt8((weighted + 500) / 1000)
    }
  }

  private static func pixel(_ image: Image, _ p: Int) -> (UInt8, UInt8, UInt8) {
    let base = p * image.channels
    func sample(_ c: Int) -> UInt8 {
      image.bitDepth == .eight ? image.samples8[base + c] : UInt8((UInt32(image.samples16[base + c]) + 128) / 257)
    }
    switch image.layout {
    case .gray, .grayAlpha: return (sample(0), sample(0), sample(0))
    case .rgb, .rgba: return (sample(0), sample(1), sample(2))
    }
  }
}
