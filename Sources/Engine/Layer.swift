import Tensors

/// Whether a forward pass is part of training (dropout active, caches kept
/// for backward) or inference.
public enum Mode: Sendable {
  case training, inference
}

/// A trainable tensor and the gradient accumulated for it.
///
/// `name` is the Keras-style weight name inside its layer ("kernel", "bias").
/// Conv kernels are stored in Keras's HWIO layout (kh, kw, inChannels,
/// outChannels) and Dense kernels as (inFeatures, outFeatures), so that model
/// files and `.npy` dumps match Keras.
public struct Parameter: Sendable {
  public var name: String
  public var value: Tensor
  public var grad: Tensor

  public init(name: String, value: Tensor) {
    self.name = name
    self.value = value
    self.grad = Tensor(zeros: value.shape)
  }
}

/// One layer of a sequential network.
///
/// Tensors passed between layers carry the batch as their first axis:
/// (N, C, H, W) for images, (N, F) for flat features. `forward` in
/// `.training` mode keeps what `backward` needs; `backward` adds into the
/// parameters' `grad` (callers zero them between steps) and returns the
/// gradient with respect to the input. Calling `backward` without a preceding
/// `.training` forward is a programmer error.
public protocol Layer: Sendable {
  /// Keras-style layer kind, e.g. "Conv2D", "MaxPooling2D".
  var kind: String { get }
  /// The per-sample output shape (no batch axis) for a per-sample input shape.
  func outputShape(for inputShape: Shape) -> Shape
  mutating func forward(_ input: Tensor, mode: Mode) -> Tensor
  mutating func backward(_ dOutput: Tensor) -> Tensor
  /// Like `backward`, but the caller does not need the input gradient (the
  /// first layer of a network), so layers may skip computing it.
  mutating func backwardParametersOnly(_ dOutput: Tensor)
  /// Visits every trainable parameter in a fixed order.
  mutating func forEachParameter(_ body: (inout Parameter) -> Void)
  /// The state of the layer's own random generator (dropout masks), for
  /// checkpoints; nil for layers that draw no random numbers. Setting nil or
  /// an invalid state is ignored.
  var generatorState: [UInt64]? { get set }
}

extension Layer {
  public mutating func backwardParametersOnly(_ dOutput: Tensor) {
    _ = backward(dOutput)
  }

  public mutating func forEachParameter(_ body: (inout Parameter) -> Void) {}

  public var generatorState: [UInt64]? {
    get { nil }
    set {}
  }
}
