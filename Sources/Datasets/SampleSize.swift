import Tensors

/// The size every sample of a data set is brought to, and how: a model's
/// input height and width with the `--resize` mode.
public struct SampleSize: Hashable, Sendable {
  public var height: Int
  public var width: Int
  public var resize: ResizeMode
  /// torchvision's `Resize(S)` before the centre crop, with `fill` (see
  /// `Preprocessing.shorterSide`).
  public var shorterSide: Int?

  public init(height: Int, width: Int, resize: ResizeMode, shorterSide: Int? = nil) {
    precondition(height > 0 && width > 0, "sample size must be positive")
    self.height = height
    self.width = width
    self.resize = resize
    self.shorterSide = shorterSide
  }

  /// Whether a sample already of this size is still resized (torchvision's
  /// scale-then-crop).
  var resizesEqualSizes: Bool { resize == .fill && shorterSide != nil }
}

extension Dataset {
  /// Every sample brought to `size`; nil when the sizes differ and the
  /// resize mode is `.none`.
  public func resized(to size: SampleSize) -> Dataset? {
    if sampleShape[1] == size.height && sampleShape[2] == size.width && !size.resizesEqualSizes {
      return self
    }
    return images.resized(
      height: size.height, width: size.width, mode: size.resize, shorterSide: size.shorterSide
    ).map {
      var resized = Dataset(images: $0, labels: labels, classNames: classNames)
      resized.preprocessing = preprocessing
      return resized
    }
  }
}
