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
/// outChannels) so that model files and `.npy` dumps match Keras.
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
/// parameters' `grad` and returns the gradient with respect to the input.
public protocol Layer: Sendable {
  /// Keras-style layer kind, e.g. "Conv2D", "MaxPooling2D".
  var kind: String { get }
  /// The per-sample output shape (no batch axis) for a per-sample input shape.
  func outputShape(for inputShape: Shape) -> Shape
  mutating func forward(_ input: Tensor, mode: Mode) -> Tensor
  mutating func backward(_ dOutput: Tensor) -> Tensor
  /// Visits every trainable parameter in a fixed order.
  mutating func forEachParameter(_ body: (inout Parameter) -> Void)
}

extension Layer {
  public mutating func forEachParameter(_ body: (inout Parameter) -> Void) {}
}
