import Tensors

/// The geometry of a 2-D sliding window (a convolution's kernel or a
/// pooling window) over one (H, W) plane; sizes and padding come from
/// `Padding`, the one formula the image filters share.
struct WindowGeometry: Sendable, Equatable {
  var inputHeight, inputWidth: Int
  var kernelHeight, kernelWidth: Int
  var strideY, strideX: Int
  /// The spacing of the window's taps (1: adjacent cells).
  var dilationY = 1, dilationX = 1
  var padTop, padLeft: Int
  var outputHeight, outputWidth: Int

  /// Nil when the window is larger than the padded plane.
  init?(
    inputHeight: Int, inputWidth: Int, kernel: (Int, Int), strides: (Int, Int), padding: Padding,
    dilations: (Int, Int) = (1, 1)
  ) {
    guard
      let rows = padding.window(
        along: .vertical, input: inputHeight, window: kernel.0, stride: strides.0,
        dilation: dilations.0),
      let columns = padding.window(
        along: .horizontal, input: inputWidth, window: kernel.1, stride: strides.1,
        dilation: dilations.1)
    else { return nil }
    (dilationY, dilationX) = dilations
    self.inputHeight = inputHeight
    self.inputWidth = inputWidth
    (kernelHeight, kernelWidth) = kernel
    (strideY, strideX) = strides
    (outputHeight, padTop, _) = rows
    (outputWidth, padLeft, _) = columns
  }

  /// The geometry of a shape that shape inference has already accepted.
  init(
    checkedHeight height: Int, width: Int, kernel: (Int, Int), strides: (Int, Int),
    padding: Padding, dilations: (Int, Int) = (1, 1)
  ) {
    guard
      let g = WindowGeometry(
        inputHeight: height, inputWidth: width, kernel: kernel, strides: strides, padding: padding,
        dilations: dilations)
    else {
      preconditionFailure(
        "the \(kernel.0)x\(kernel.1) window is larger than the \(height)x\(width) input")
    }
    self = g
  }
}
