import ImageCodecs

/// Where the kernel lands: padding on each side and the output size.
///
/// With padding P (total per axis), stride S, dilation D, kernel F and input I:
/// O = floor((I + P − D·(F−1) − 1) / S) + 1 (Keras/TF, PyTorch). Output pixel o
/// reads input pixels o·S − P_before + k·D for k in 0..<F.
/// See https://www.tensorflow.org/api_docs/python/tf/nn#notes_on_padding_2
public struct FilterGeometry: Sendable, Equatable {
  public let inputWidth: Int
  public let inputHeight: Int
  public let kernelRows: Int
  public let kernelCols: Int
  public let stride: AxisPair
  public let dilation: AxisPair
  public let padTop: Int
  public let padBottom: Int
  public let padLeft: Int
  public let padRight: Int
  public let outputWidth: Int
  public let outputHeight: Int

  /// Computes the geometry, checking stride, dilation, padding and that the
  /// dilated kernel fits in the padded image.
  public init(
    inputWidth: Int, inputHeight: Int, kernelRows: Int, kernelCols: Int, options: FilterOptions
  ) throws(FilterError) {
    precondition(kernelRows >= 1 && kernelCols >= 1, "kernel must not be empty")
    let s = options.stride
    let d = options.dilation
    let steps = 1...FilterGeometry.maximumStep
    guard steps.contains(s.x), steps.contains(s.y) else { throw .invalidStride(s) }
    guard steps.contains(d.x), steps.contains(d.y) else { throw .invalidDilation(d) }
    guard inputWidth >= 1, inputHeight >= 1 else { throw .emptyImage }
    guard kernelRows <= FilterGeometry.maximumStep, kernelCols <= FilterGeometry.maximumStep,
      inputWidth <= 1 << 30, inputHeight <= 1 << 30
    else {
      throw .outputTooLarge(width: inputWidth, height: inputHeight)
    }
    let spanX = d.x * (kernelCols - 1) + 1
    let spanY = d.y * (kernelRows - 1) + 1
    switch options.padding {
    case .valid:
      (padTop, padBottom, padLeft, padRight) = (0, 0, 0, 0)
    case .same:
      (padLeft, padRight) = FilterGeometry.samePadding(input: inputWidth, stride: s.x, span: spanX)
      (padTop, padBottom) = FilterGeometry.samePadding(input: inputHeight, stride: s.y, span: spanY)
    case .explicit(let top, let bottom, let left, let right):
      let sizes = 0...FilterGeometry.maximumStep
      guard sizes.contains(top), sizes.contains(bottom), sizes.contains(left),
        sizes.contains(right)
      else {
        throw .invalidPadding(top: top, bottom: bottom, left: left, right: right)
      }
      (padTop, padBottom, padLeft, padRight) = (top, bottom, left, right)
    }
    let paddedWidth = inputWidth + padLeft + padRight
    let paddedHeight = inputHeight + padTop + padBottom
    guard spanX <= paddedWidth, spanY <= paddedHeight else {
      throw .kernelLargerThanImage(
        kernelWidth: spanX, kernelHeight: spanY,
        paddedWidth: paddedWidth, paddedHeight: paddedHeight)
    }
    self.inputWidth = inputWidth
    self.inputHeight = inputHeight
    self.kernelRows = kernelRows
    self.kernelCols = kernelCols
    self.stride = s
    self.dilation = d
    outputWidth = (paddedWidth - spanX) / s.x + 1
    outputHeight = (paddedHeight - spanY) / s.y + 1
  }

  /// The geometry of `operation` on `image`.
  public init(operation: FilterOperation, image: Image, options: FilterOptions) throws(FilterError)
  {
    try self.init(
      inputWidth: image.width, inputHeight: image.height,
      kernelRows: operation.kernelRows, kernelCols: operation.kernelCols,
      options: options)
  }

  /// Input pixels (per axis) left over after the last stride step and dropped,
  /// as Keras drops them; non-zero means "S does not divide I + P − D·(F−1) − 1".
  public var droppedPixels: AxisPair {
    AxisPair(
      x: (inputWidth + padLeft + padRight - (dilation.x * (kernelCols - 1) + 1)) % stride.x,
      y: (inputHeight + padTop + padBottom - (dilation.y * (kernelRows - 1) + 1)) % stride.y)
  }

  /// True when the stride steps exactly cover the padded image on both axes.
  public var strideDividesEvenly: Bool { droppedPixels == AxisPair(0) }

  /// The anchor tap of the kernel: row/column (F−1)/2 rounded down.
  public var anchorRow: Int { (kernelRows - 1) / 2 }
  public var anchorCol: Int { (kernelCols - 1) / 2 }

  /// Largest stride, dilation or explicit padding accepted (2²⁴): far beyond
  /// any image, small enough that no size arithmetic can overflow.
  public static let maximumStep = 1 << 24

  /// TF 'same': the smaller half before, the odd pixel after.
  private static func samePadding(input: Int, stride: Int, span: Int) -> (Int, Int) {
    let outputs = (input - 1) / stride + 1
    let total = max((outputs - 1) * stride + span - input, 0)
    return (total / 2, total - total / 2)
  }
}
