import Tensors

/// The size every sample of a data set is brought to, and how: a model's
/// input height and width with the `--resize` mode.
public struct SampleSize: Hashable, Sendable {
  public var height: Int
  public var width: Int
  public var resize: ResizeMode

  public init(height: Int, width: Int, resize: ResizeMode) {
    precondition(height > 0 && width > 0, "sample size must be positive")
    self.height = height
    self.width = width
    self.resize = resize
  }
}

extension Dataset {
  /// Every sample brought to `size`; nil when the sizes differ and the
  /// resize mode is `.none`.
  public func resized(to size: SampleSize) -> Dataset? {
    if sampleShape[1] == size.height && sampleShape[2] == size.width { return self }
    return images.resized(height: size.height, width: size.width, mode: size.resize).map {
      Dataset(images: $0, labels: labels, classNames: classNames)
    }
  }
}
