import Foundation
import Tensors
import _CNNKernels
import _DNNLKernels

/// Batch normalisation at inference (ONNX `BatchNormalization`, Keras
/// `BatchNormalization` with `training=False`): each channel normalised with
/// its stored statistics, then scaled and shifted.
///
/// Input (N, C, H, W) or (N, C) → the same shape, with
/// y = (x − mean[c]) / sqrt(variance[c] + epsilon) · gamma[c] + beta[c],
/// computed as x · scale[c] + shift[c] (`cvz_channel_affine`);
/// `batchNormalizationReference` is the formula it is tested against.
/// The four tensors are parameters named as in Keras ("gamma", "beta",
/// "moving_mean", "moving_variance"), so that dumps and exports see them;
/// backward gives the input gradient dy · scale[c] and leaves their
/// gradients at zero (convviz does not train batch normalisation).
/// A Conv2D directly before it can absorb it (`Conv2D.folding(_:)`).
public struct BatchNormalization: Layer {
  public var gamma, beta, movingMean, movingVariance: Parameter
  public let epsilon: Float
  private var cachedShape: Shape?

  /// Statistics and affine terms, one value per channel each.
  public init(gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, epsilon: Float = 1e-5) {
    let c = gamma.count
    precondition(
      gamma.shape.rank == 1 && [beta, mean, variance].allSatisfy { $0.shape == Shape(c) },
      "BatchNormalization tensors must be one value per channel")
    precondition(epsilon >= 0, "BatchNormalization epsilon must not be negative")
    self.gamma = Parameter(name: "gamma", value: gamma)
    self.beta = Parameter(name: "beta", value: beta)
    movingMean = Parameter(name: "moving_mean", value: mean)
    movingVariance = Parameter(name: "moving_variance", value: variance)
    self.epsilon = epsilon
  }

  public var kind: String { "BatchNormalization" }
  public var channels: Int { gamma.value.count }

  /// Per channel: scale = gamma / sqrt(variance + epsilon) and
  /// shift = beta − mean · scale, the affine map the layer applies.
  public var affine: (scale: [Float], shift: [Float]) {
    var scale = [Float](repeating: 0, count: channels)
    var shift = scale
    for c in 0..<channels {
      let s =
        Double(gamma.value.storage[c])
        / (Double(movingVariance.value.storage[c]) + Double(epsilon)).squareRoot()
      scale[c] = Float(s)
      shift[c] = Float(Double(beta.value.storage[c]) - Double(movingMean.value.storage[c]) * s)
    }
    return (scale, shift)
  }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape {
    guard (inputShape.rank == 3 || inputShape.rank == 1) && inputShape[0] == channels else {
      throw .incompatibleShape(
        operation: kind, expected: "(\(channels), H, W) or (\(channels))", found: [inputShape])
    }
    return inputShape
  }

  private static func apply(
    _ input: Tensor, scale: [Float], shift: [Float]
  ) -> Tensor {
    let (n, c) = (input.shape[0], input.shape[1])
    let plane = input.count / max(n * c, 1)
    return Tensor(uninitialized: input.shape) { y in
      input.storage.withUnsafeBufferPointer { x in
        cvz_channel_affine(
          x.baseAddress, scale, shift, y.baseAddress, Int32(n), Int32(c), plane)
      }
    }
  }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    precondition(
      input.shape.rank >= 2 && input.shape[1] == channels,
      "BatchNormalization expects (N, \(channels), ...), got \(input.shape)")
    cachedShape = mode.keepsCaches ? input.shape : nil
    let (scale, shift) = affine
    return Self.apply(input, scale: scale, shift: shift)
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    guard let shape = cachedShape else {
      preconditionFailure("BatchNormalization.backward without a training forward")
    }
    cachedShape = nil
    precondition(dOutput.shape == shape, "BatchNormalization dOutput must be \(shape)")
    return Self.apply(
      dOutput, scale: affine.scale, shift: [Float](repeating: 0, count: channels))
  }

  public mutating func forEachParameter(_ body: (inout Parameter) -> Void) {
    body(&gamma)
    body(&beta)
    body(&movingMean)
    body(&movingVariance)
  }
}

/// The batch normalisation formula, element by element in Double:
/// y = (x − mean[c]) / sqrt(variance[c] + epsilon) · gamma[c] + beta[c]
/// for input (N, C, ...).
public func batchNormalizationReference(
  input: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, epsilon: Float
) -> Tensor {
  let (n, c) = (input.shape[0], input.shape[1])
  let plane = input.count / max(n * c, 1)
  var output = input
  for b in 0..<n {
    for ch in 0..<c {
      let inverse = 1 / (Double(variance.storage[ch]) + Double(epsilon)).squareRoot()
      for i in 0..<plane {
        let k = (b * c + ch) * plane + i
        let normalised = (Double(input.storage[k]) - Double(mean.storage[ch])) * inverse
        output.storage[k] = Float(normalised * Double(gamma.storage[ch]) + Double(beta.storage[ch]))
      }
    }
  }
  return output
}

extension Conv2D {
  /// This convolution with `norm` (reading its output) folded in:
  /// kernel[.., o] · scale[o] and (bias[o] − mean[o]) · scale[o] + beta[o],
  /// so that one convolution computes both. Nil when the channel counts
  /// differ.
  public func folding(_ norm: BatchNormalization) -> Conv2D? {
    guard norm.channels == filters else { return nil }
    let (scale, shift) = norm.affine
    var k = kernel.value
    for i in 0..<k.count { k.storage[i] *= scale[i % filters] }
    var b = bias.value
    for o in 0..<filters { b.storage[o] = b.storage[o] * scale[o] + shift[o] }
    var folded = Conv2D(
      kernel: k, bias: b, strides: (strides.y, strides.x), padding: padding, groups: groups,
      dilations: (dilations.y, dilations.x))
    folded.foldedBatchNormalization = true
    return folded
  }
}

/// Inference on a channel-blocked oneDNN layout (nChw16c, nChw8c, or
/// channels-last, one block of all channels): the
/// same per-channel affine map, block by block, with a following ReLU
/// folded (DenseNet's BatchNormalization → ReLU → convolution, between a
/// join and a convolution that keep that layout). On NCHW, or in training,
/// the ReLU runs on its own.
extension BatchNormalization: OneDNNLayoutOperation {
  public func canFold(_ stages: [FusionRole]) -> Bool { stages.isEmpty || stages == [.relu] }

  func runsOnOneDNN(inputShapes: [Shape]) -> Bool {
    inputShapes.count == 1 && inputShapes[0].rank == 3 && inputShapes[0][0] % 16 == 0
  }

  mutating func oneDNNForward(
    _ inputs: [StepValue], folding stages: [FusionRole], keepLayout: Bool
  ) throws(EngineError) -> (output: StepValue, folded: Int)? {
    guard OneDNN.isUsable, inputs.count == 1, case .oneDNN(let x) = inputs[0],
      x.shape.rank == 4, x.shape[1] == channels
    else { return nil }
    let block = cvz_dnnl_layout_channel_block(x.layout.pointer)
    guard block > 0 else { return nil }
    let (scale, shift) = affine
    let relu = stages.first == .relu
    let plane = x.shape[2] * x.shape[3]
    let output = OneDNNTensor(shape: x.shape, layout: x.layout) { y in
      x.storage.withUnsafeBufferPointer { input in
        cvz_channel_affine_blocked(
          input.baseAddress, scale, shift, y.baseAddress, Int32(x.shape[0]), Int32(channels),
          plane, block, relu ? 1 : 0)
      }
    }
    cachedShape = nil
    return (keepLayout ? .oneDNN(output) : .plain(try output.plain()), relu ? 1 : 0)
  }
}
