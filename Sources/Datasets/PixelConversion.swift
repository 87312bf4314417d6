import ImageCodecs
import Tensors

/// The one place where a decoded image becomes model input: CHW float
/// planes in [0, 1], converted to the model's channels and, when asked,
/// resized to its input size and normalized (`Preprocessing`: scale,
/// channel order, mean and std). The data-set loaders, `predict`,
/// `featuremaps` and `report` all go through it, so a photo gives the model
/// the same numbers whichever command reads it.
public enum PixelConversion {
  /// `Float(b) / 255` for every byte: exact division, as Keras's `x / 255` and
  /// PyTorch's `ToTensor` compute it, at table-lookup cost.
  static let unitScale: [Float] = (0...255).map { Float($0) / 255 }

  /// `values` as the bytes b whose `unitScale[b]` they are, or nil when
  /// one of them is not exactly such a value (16-bit data, luma, resizing).
  static func exactBytes(_ values: [Float]) -> [UInt8]? {
    var bytes: [UInt8] = []
    let exact = values.withUnsafeBufferPointer { appendExactBytes($0, to: &bytes) }
    return exact ? bytes : nil
  }

  /// Appends the bytes of `values` to `bytes` when every value is exactly
  /// some `unitScale[b]`; otherwise leaves `bytes` as it was and returns false.
  static func appendExactBytes(
    _ values: UnsafeBufferPointer<Float>, to bytes: inout [UInt8]
  ) -> Bool {
    let start = bytes.count
    bytes.reserveCapacity(start + values.count)
    for v in values {
      guard v >= 0, v <= 1, unitScale[Int((v * 255).rounded())] == v else {
        bytes.removeLast(bytes.count - start)
        return false
      }
      bytes.append(UInt8((v * 255).rounded()))
    }
    return true
  }

  /// The channel count a model would use for `layout` when none is asked for:
  /// gray stays gray, anything with colour becomes RGB.
  public static func naturalChannels(_ layout: Image.Layout) -> Int {
    switch layout {
    case .gray, .grayAlpha: return 1
    case .rgb, .rgba: return 3
    }
  }

  /// `image` as a (1, channels, H, W) tensor at its own size, its values
  /// through `preprocessing` (its `shorterSide` does not apply: nothing is
  /// resized).
  public static func tensor(
    of image: Image, channels: Int, preprocessing: Preprocessing = .standard
  ) -> Tensor {
    var planes = planes(of: image, channels: channels)
    normalize(&planes, channels: channels, pixels: image.pixelCount, preprocessing)
    return Tensor(shape: Shape(1, channels, image.height, image.width), storage: planes)
  }

  /// `image` as a (1, channels, height, width) tensor, resized with
  /// `resize` (and `preprocessing.shorterSide`) when its size differs, its
  /// values through `preprocessing`; nil when it differs and `resize` is
  /// `.none`.
  public static func tensor(
    of image: Image, channels: Int, height: Int, width: Int, resize: ResizeMode,
    preprocessing: Preprocessing = .standard
  ) -> Tensor? {
    guard
      var planes = sample(
        of: image, channels: channels, height: height, width: width, resize: resize,
        shorterSide: preprocessing.shorterSide)
    else { return nil }
    normalize(&planes, channels: channels, pixels: height * width, preprocessing)
    return Tensor(shape: Shape(1, channels, height, width), storage: planes)
  }

  /// The planes of `image` at height × width (see `tensor(of:channels:height:width:resize:)`).
  static func sample(
    of image: Image, channels: Int, height: Int, width: Int, resize: ResizeMode,
    shorterSide: Int? = nil
  ) -> [Float]? {
    resize.apply(
      planes(of: image, channels: channels), channels: channels, height: image.height,
      width: image.width, toHeight: height, toWidth: width, shorterSide: shorterSide)
  }

  /// Brings whole samples (channels planes of `pixels` values each, values
  /// in [0, 1]) to what the model was trained on: `(x · scale − mean[c]) /
  /// std[c]`, RGB swapped to BGR first when asked (see `Preprocessing`).
  /// The same float operations, in the same order, as torchvision's
  /// `ToTensor` (scale 1) followed by `Normalize`.
  public static func normalize(
    _ values: inout [Float], channels: Int, pixels: Int, _ preprocessing: Preprocessing
  ) {
    guard !preprocessing.leavesValues, !values.isEmpty else { return }
    values.withUnsafeMutableBufferPointer {
      normalize($0, channels: channels, pixels: pixels, preprocessing)
    }
  }

  /// `normalize` on a buffer of whole samples.
  public static func normalize(
    _ values: UnsafeMutableBufferPointer<Float>, channels: Int, pixels: Int,
    _ preprocessing: Preprocessing
  ) {
    guard !preprocessing.leavesValues, !values.isEmpty else { return }
    let sampleSize = channels * pixels
    precondition(sampleSize > 0 && values.count % sampleSize == 0, "values are not whole samples")
    let scale = Float(preprocessing.scale.rawValue)
    let swap = preprocessing.channelOrder == .bgr && channels == 3
    for start in stride(from: 0, to: values.count, by: sampleSize) {
      let sample = UnsafeMutableBufferPointer(rebasing: values[start..<(start + sampleSize)])
      if swap {
        for p in 0..<pixels { sample.swapAt(p, 2 * pixels + p) }
      }
      for c in 0..<channels {
        let (mean, std) = preprocessing.meanAndStd(channel: c)
        for p in (c * pixels)..<((c + 1) * pixels) {
          sample[p] = (sample[p] * scale - mean) / std
        }
      }
    }
  }

  /// The way back for pictures: (N, C, H, W) model input that went
  /// through `preprocessing` as values in [0, 1], RGB (the inverse of
  /// `normalize`, up to float rounding).
  public static func displayValues(_ input: Tensor, _ preprocessing: Preprocessing) -> Tensor {
    guard !preprocessing.leavesValues, input.shape.rank == 4 else { return input }
    let (channels, pixels) = (input.shape[1], input.shape[2] * input.shape[3])
    var values = input.storage
    let scale = Float(preprocessing.scale.rawValue)
    for start in stride(from: 0, to: values.count, by: channels * pixels) {
      for c in 0..<channels {
        let (mean, std) = preprocessing.meanAndStd(channel: c)
        for p in (start + c * pixels)..<(start + (c + 1) * pixels) {
          values[p] = (values[p] * std + mean) / scale
        }
      }
      if preprocessing.channelOrder == .bgr && channels == 3 {
        for p in start..<(start + pixels) { values.swapAt(p, p + 2 * pixels) }
      }
    }
    return Tensor(shape: input.shape, storage: values)
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
