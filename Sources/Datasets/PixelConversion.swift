import ImageCodecs

/// Turns decoded images into CHW float planes in [0, 1], as the loaders do.
public enum PixelConversion {
  /// `Float(b) / 255` for every byte: exact division, as Keras's `x / 255` and
  /// PyTorch's `ToTensor` compute it, at table-lookup cost.
  static let unitScale: [Float] = (0...255).map { Float($0) / 255 }

  /// The channel count a model would use for `layout` when none is asked for:
  /// gray stays gray, anything with colour becomes RGB.
  public static func naturalChannels(_ layout: Image.Layout) -> Int {
    switch layout {
    case .gray, .grayAlpha: return 1
    case .rgb, .rgba: return 3
    }
  }

  /// `image` as `channels` (1 or 3) planes of height×width floats, the
  /// layout of one sample of a `Dataset`; see `writePlanes`.
  public static func planes(of image: Image, channels: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: channels * image.pixelCount) { buffer, initialized in
      writePlanes(of: image, channels: channels, into: buffer)
      initialized = buffer.count
    }
  }

  /// Writes `image` as `channels` (1 or 3) planes of height×width floats.
  ///
  /// Alpha is dropped. Gray becomes RGB by copying; RGB becomes gray by the
  /// ITU-R 601 luma weights that PIL and TensorFlow use. 8-bit samples are
  /// divided by 255 and 16-bit samples by 65535.
  static func writePlanes(
    of image: Image, channels: Int, into planes: UnsafeMutableBufferPointer<Float>
  ) {
    precondition(channels == 1 || channels == 3, "channels must be 1 or 3, got \(channels)")
    let pixels = image.pixelCount
    precondition(planes.count == channels * pixels, "plane buffer does not match the image")
    let stride = image.channels
    let colour = image.layout == .rgb || image.layout == .rgba
    func sample(_ i: Int) -> Float {
      image.bitDepth == .eight
        ? unitScale[Int(image.samples8[i])] : Float(image.samples16[i]) / 65535
    }
    for p in 0..<pixels {
      let base = p * stride
      if channels == 3 {
        for c in 0..<3 { planes[c * pixels + p] = sample(colour ? base + c : base) }
      } else if colour {
        planes[p] = 0.299 * sample(base) + 0.587 * sample(base + 1) + 0.114 * sample(base + 2)
      } else {
        planes[p] = sample(base)
      }
    }
  }
}
