import ImageCodecs
import Tensors

/// How a pooling window reduces its samples.
public enum PoolMode: String, Sendable, CaseIterable {
  /// The largest sample.
  case max
  /// The mean, rounded to the nearest integer (ties to even).
  case average
  /// sqrt(mean of squares), rounded likewise: the Engine's `Pooling2D.l2`
  /// (Nielsen's "L2 pooling", divided by the number of samples).
  case l2
}

/// The pooling window: its size, strides and padding (`valid`, `same`, or
/// explicit amounts smaller than the window).
///
/// The output size is `Padding`'s, the one formula of the filters and the
/// engine: O = ⌊(I − F + P) / S⌋ + 1. Padded cells never count: a window
/// reduces only the image samples under it, as TensorFlow and the Engine do.
public struct PoolOptions: Sendable, Equatable {
  /// Window width and height.
  public var size: AxisPair
  /// Step between windows; the window size when not given, as in Keras.
  public var stride: AxisPair
  public var padding: Padding

  public init(size: AxisPair, stride: AxisPair? = nil, padding: Padding = .valid) {
    self.size = size
    self.stride = stride ?? size
    self.padding = padding
  }

  /// The window's place on an image of `width`×`height`: padding and output
  /// size, checked as the filter's geometry is.
  ///
  /// Explicit padding must be smaller than the window on each side, so that
  /// every window holds at least one image sample.
  public func geometry(width: Int, height: Int) throws(FilterError) -> FilterGeometry {
    guard size.x >= 1, size.y >= 1 else { throw .invalidPoolSize(size) }
    if case .explicit(let top, let bottom, let left, let right) = padding,
      max(top, bottom) >= size.y || max(left, right) >= size.x
    {
      throw .poolPaddingTooLarge(
        top: top, bottom: bottom, left: left, right: right, window: size)
    }
    do {
      return try FilterGeometry(
        inputWidth: width, inputHeight: height, kernelRows: size.y, kernelCols: size.x,
        options: FilterOptions(stride: stride, padding: padding))
    } catch .kernelLargerThanImage(let ww, let wh, let pw, let ph) {
      throw .poolLargerThanImage(
        windowWidth: ww, windowHeight: wh, paddedWidth: pw, paddedHeight: ph)
    }
  }

  /// The geometry on `image`.
  public func geometry(for image: Image) throws(FilterError) -> FilterGeometry {
    try geometry(width: image.width, height: image.height)
  }
}
