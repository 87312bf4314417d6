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
  var padBottom = 0, padRight = 0
  var outputHeight, outputWidth: Int

  /// Nil when the window is larger than the padded plane.
  init?(
    inputHeight: Int, inputWidth: Int, kernel: (Int, Int), strides: (Int, Int), padding: Padding,
    dilations: (Int, Int) = (1, 1), ceilMode: Bool = false
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
    (outputHeight, padTop, padBottom) = rows
    (outputWidth, padLeft, padRight) = columns
    if ceilMode {
      outputHeight = Self.ceilExtent(
        input: inputHeight, before: padTop, after: padBottom, window: kernel.0, stride: strides.0,
        dilation: dilations.0)
      outputWidth = Self.ceilExtent(
        input: inputWidth, before: padLeft, after: padRight, window: kernel.1, stride: strides.1,
        dilation: dilations.1)
    }
    self.inputHeight = inputHeight
    self.inputWidth = inputWidth
    (kernelHeight, kernelWidth) = kernel
    (strideY, strideX) = strides
  }

  /// The output extent with the last partial window kept (ONNX and PyTorch
  /// `ceil_mode`): ⌈(I + P − span) / S⌉ + 1, less one when that last window
  /// would start past the input and its leading padding.
  static func ceilExtent(
    input: Int, before: Int, after: Int, window: Int, stride: Int, dilation: Int
  ) -> Int {
    let span = dilation * (window - 1) + 1
    var output = (input + before + after - span + stride - 1) / stride + 1
    if (output - 1) * stride >= input + before { output -= 1 }
    return output
  }

  /// The geometry of a shape that shape inference has already accepted.
  init(
    checkedHeight height: Int, width: Int, kernel: (Int, Int), strides: (Int, Int),
    padding: Padding, dilations: (Int, Int) = (1, 1), ceilMode: Bool = false
  ) {
    guard
      let g = WindowGeometry(
        inputHeight: height, inputWidth: width, kernel: kernel, strides: strides, padding: padding,
        dilations: dilations, ceilMode: ceilMode)
    else {
      preconditionFailure(
        "the \(kernel.0)x\(kernel.1) window is larger than the \(height)x\(width) input")
    }
    self = g
  }
}
