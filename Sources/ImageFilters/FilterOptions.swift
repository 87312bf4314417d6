/// A pair of per-axis step sizes (stride or dilation).
public struct AxisPair: Sendable, Equatable, CustomStringConvertible {
  public var x: Int
  public var y: Int
  public init(x: Int, y: Int) {
    self.x = x
    self.y = y
  }
  /// The same value on both axes.
  public init(_ both: Int) { self.init(x: both, y: both) }
  public var description: String { x == y ? "\(x)" : "\(x),\(y)" }
}

/// How much border surrounds the image before the kernel slides over it.
public enum Padding: Sendable, Equatable {
  /// No padding: a W×H image and an F×F kernel give (W−F+1)×(H−F+1) at stride 1.
  case valid
  /// TensorFlow/Keras `same`: output ceil(I/S); total padding
  /// max((ceil(I/S)−1)·S + D·(F−1) + 1 − I, 0), the odd pixel at the bottom/right.
  case same
  /// Explicit pixels on each side (all ≥ 0).
  case explicit(top: Int, bottom: Int, left: Int, right: Int)

  /// `n` pixels on every side (`--padding N`).
  public static func symmetric(_ n: Int) -> Padding {
    .explicit(top: n, bottom: n, left: n, right: n)
  }
}

/// The value of pixels outside the image, read when padding or kernel reach past it.
public enum Border: String, Sendable, CaseIterable {
  /// 0 outside the image.
  case zero
  /// The nearest edge pixel: aaa|abcd|ddd (OpenCV BORDER_REPLICATE, numpy 'edge').
  case replicate
  /// Mirror without repeating the edge: dcb|abcd|cba. This is OpenCV's
  /// BORDER_REFLECT_101 (filter2D's default), numpy.pad's 'reflect' and
  /// scipy.ndimage's 'mirror' — not scipy.ndimage's 'reflect', which repeats the edge.
  /// A 1-pixel-wide axis reflects onto its only pixel.
  case reflect
  /// Tile the image periodically: bcd|abcd|abc (OpenCV BORDER_WRAP, numpy 'wrap').
  case wrap
}

/// How filtered values become output samples (0...M, M = 255 or 65535).
///
/// Rounding is to nearest with ties to even (numpy's `np.rint`), applied after
/// cutting to 0...M, which gives the same result as rounding first.
public enum RangeMode: String, Sendable, CaseIterable {
  /// Round, then cut to 0...M (the seed's behaviour). NaN becomes 0.
  case clamp
  /// Map min...max of all colour samples of the image linearly onto 0...M.
  /// A constant result maps to 0.
  case normalize
  /// Absolute value, then as `clamp`; shows negative responses of edge kernels.
  case abs
}

/// Everything that controls a filter besides the kernel.
///
/// The output value before `range` is `scale · (Σ kernel·input) + bias`, where
/// the sum is the cross-correlation (or the gradient magnitude of two).
public struct FilterOptions: Sendable, Equatable {
  public var stride: AxisPair
  public var dilation: AxisPair
  public var padding: Padding
  public var border: Border
  public var range: RangeMode
  public var scale: Float
  public var bias: Float

  /// Defaults are the seed's: stride 1, no dilation, valid padding, zero
  /// border (unused with valid), clamp, scale 1, bias 0.
  public init(
    stride: AxisPair = AxisPair(1), dilation: AxisPair = AxisPair(1),
    padding: Padding = .valid, border: Border = .zero, range: RangeMode = .clamp,
    scale: Float = 1, bias: Float = 0
  ) {
    self.stride = stride
    self.dilation = dilation
    self.padding = padding
    self.border = border
    self.range = range
    self.scale = scale
    self.bias = bias
  }
}
