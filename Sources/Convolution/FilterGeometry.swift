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
    let s = options.stride, d = options.dilation
    guard s.x >= 1, s.y >= 1 else { throw .invalidStride(s) }
    guard d.x >= 1, d.y >= 1 else { throw .invalidDilation(d) }
    guard inputWidth >= 1, inputHeight >= 1 else { throw .emptyImage }
    let spanX = d.x * (kernelCols - 1) + 1, spanY = d.y * (kernelRows - 1) + 1
    switch options.padding {
    case .valid:
      (padTop, padBottom, padLeft, padRight) = (0, 0, 0, 0)
    case .same:
      (padLeft, padRight) = FilterGeometry.samePadding(input: inputWidth, stride: s.x, span: spanX)
      (padTop, padBottom) = FilterGeometry.samePadding(input: inputHeight, stride: s.y, span: spanY)
    case let .explicit(top, bottom, left, right):
      guard top >= 0, bottom >= 0, left >= 0, right >= 0 else {
        throw .negativePadding(top: top, bottom: bottom, left: left, right: right)
      }
      (padTop, padBottom, padLeft, padRight) = (top, bottom, left, right)
    }
    let paddedWidth = inputWidth + padLeft + padRight
    let paddedHeight = inputHeight + padTop + padBottom
    guard spanX <= paddedWidth, spanY <= paddedHeight else {
      throw .kernelLargerThanImage(kernelWidth: spanX, kernelHeight: spanY,
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
  public init(operation: FilterOperation, image: Image, options: FilterOptions) throws(FilterError) {
    try self.init(inputWidth: image.width, inputHeight: image.height,
                  kernelRows: operation.kernelRows, kernelCols: operation.kernelCols,
                  options: options)
  }

  /// Input pixels (per axis) left over after the last stride step and dropped,
  /// as Keras drops them; non-zero means "S does not divide I + P − D·(F−1) − 1".
  public var droppedPixels: AxisPair {
    AxisPair(x: (inputWidth + padLeft + padRight - (dilation.x * (kernelCols - 1) + 1)) % stride.x,
             y: (inputHeight + padTop + padBottom - (dilation.y * (kernelRows - 1) + 1)) % stride.y)
  }

  /// True when the stride steps exactly cover the padded image on both axes.
  public var strideDividesEvenly: Bool { droppedPixels == AxisPair(0) }

  /// The anchor tap of the kernel: row/column (F−1)/2 rounded down.
  public var anchorRow: Int { (kernelRows - 1) / 2 }
  public var anchorCol: Int { (kernelCols - 1) / 2 }

  /// TF 'same': the smaller half before, the odd pixel after.
  private static func samePadding(input: Int, stride: Int, span: Int) -> (Int, Int) {
    let outputs = (input + stride - 1) / stride
    let total = max((outputs - 1) * stride + span - input, 0)
    return (total / 2, total - total / 2)
  }
}
