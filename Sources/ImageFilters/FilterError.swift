/// Why a filter could not run. The CLI prefixes the input file's name.
public enum FilterError: Error, Equatable, Sendable, CustomStringConvertible {
  case invalidStride(AxisPair)
  case invalidDilation(AxisPair)
  /// Explicit padding below 0 or above `FilterGeometry.maximumStep`.
  case invalidPadding(top: Int, bottom: Int, left: Int, right: Int)
  case nonFiniteScaleOrBias(scale: Float, bias: Float)
  /// The dilated kernel (`kernelWidth`×`kernelHeight` after dilation) does not
  /// fit in the padded image, so there would be no output pixel.
  case kernelLargerThanImage(
    kernelWidth: Int, kernelHeight: Int, paddedWidth: Int, paddedHeight: Int)
  /// The pooling window (`windowWidth`×`windowHeight`) does not fit in the
  /// padded image.
  case poolLargerThanImage(windowWidth: Int, windowHeight: Int, paddedWidth: Int, paddedHeight: Int)
  /// A pooling window size below 1.
  case invalidPoolSize(AxisPair)
  /// Explicit pooling padding as wide as the window (or wider) on some side,
  /// which would leave windows with no image sample.
  case poolPaddingTooLarge(top: Int, bottom: Int, left: Int, right: Int, window: AxisPair)
  /// The image has no pixels.
  case emptyImage
  /// The output would have more samples than the address space allows.
  case outputTooLarge(width: Int, height: Int)
  /// Scratch memory for a band of rows could not be allocated.
  case outOfMemory(bytes: Int)
  /// The file read again for the second pass of a normalized streaming
  /// filter is not the image of the first pass (it was replaced meanwhile).
  case inputChanged(path: String)

  public var description: String {
    switch self {
    case .invalidStride(let s):
      return "stride \(s) is invalid; "
        + "hint: stride must be between 1 and \(FilterGeometry.maximumStep)"
    case .invalidDilation(let d):
      return "dilation \(d) is invalid; "
        + "hint: dilation must be between 1 and \(FilterGeometry.maximumStep)"
    case .invalidPadding(let t, let b, let l, let r):
      return "padding (top \(t), bottom \(b), left \(l), right \(r)) is invalid; "
        + "hint: each side must be between 0 and \(FilterGeometry.maximumStep)"
    case .nonFiniteScaleOrBias(let scale, let bias):
      return "scale \(scale) and bias \(bias) must be finite numbers"
    case .kernelLargerThanImage(let kw, let kh, let pw, let ph):
      return "kernel spans \(kw)×\(kh) pixels (with dilation) but the padded image is only "
        + "\(pw)×\(ph); hint: use --padding same or a smaller kernel"
    case .poolLargerThanImage(let ww, let wh, let pw, let ph):
      return "pooling window \(ww)×\(wh) is larger than the padded image (\(pw)×\(ph)); "
        + "hint: use --padding same or a smaller --size"
    case .invalidPoolSize(let size):
      return "pool size \(size) is invalid; hint: it must be at least 1"
    case .poolPaddingTooLarge(let t, let b, let l, let r, let window):
      return "pooling padding (top \(t), bottom \(b), left \(l), right \(r)) reaches a whole "
        + "window (\(window.x)×\(window.y)); hint: pad less than the window on every side"
    case .emptyImage:
      return "image has no pixels"
    case .outputTooLarge(let w, let h):
      return "output \(w)×\(h) is too large"
    case .outOfMemory(let bytes):
      return "could not allocate \(bytes) bytes of filter scratch memory"
    case .inputChanged(let path):
      return "\(path) changed while it was read twice (for --range normalize); "
        + "hint: run again once nothing writes to it"
    }
  }
}
