/// How a convolution or pooling window treats the input border, as in Keras.
///
/// `.valid` uses only complete windows: out = (in − k) / s + 1 (floor).
/// `.same` gives out = ceil(in / s) and pads with zeros (or ignores the
/// padded cells, for pooling). Like TensorFlow, the total padding
/// max((out − 1)·s + k − in, 0) is split with the extra cell at the bottom or
/// right: before = total / 2, after = total − before.
public enum Padding: String, Sendable, CaseIterable {
  case valid, same

  /// The output extent and the padding before (top or left) along one axis.
  public func outputSizeAndPadBefore(input: Int, kernel: Int, stride: Int) -> (
    size: Int, padBefore: Int
  ) {
    precondition(kernel >= 1 && stride >= 1, "kernel and stride must be at least 1")
    switch self {
    case .valid:
      precondition(input >= kernel, "input extent \(input) is smaller than the window \(kernel)")
      return ((input - kernel) / stride + 1, 0)
    case .same:
      let size = (input + stride - 1) / stride
      let total = max((size - 1) * stride + kernel - input, 0)
      return (size, total / 2)
    }
  }
}

/// The geometry of a 2-D sliding window over one (H, W) plane.
struct WindowGeometry: Sendable, Equatable {
  var inputHeight, inputWidth: Int
  var kernelHeight, kernelWidth: Int
  var strideY, strideX: Int
  var padTop, padLeft: Int
  var outputHeight, outputWidth: Int

  init(
    inputHeight: Int, inputWidth: Int, kernel: (Int, Int), strides: (Int, Int), padding: Padding
  ) {
    self.inputHeight = inputHeight
    self.inputWidth = inputWidth
    (kernelHeight, kernelWidth) = kernel
    (strideY, strideX) = strides
    (outputHeight, padTop) = padding.outputSizeAndPadBefore(
      input: inputHeight, kernel: kernel.0, stride: strides.0)
    (outputWidth, padLeft) = padding.outputSizeAndPadBefore(
      input: inputWidth, kernel: kernel.1, stride: strides.1)
  }
}
