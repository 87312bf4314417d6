import Tensors

/// Whether a forward pass is part of training (dropout active, caches kept
/// for backward) or inference.
public enum Mode: Sendable {
  case training, inference
  /// Inference behaviour (dropout off) that still keeps what backward
  /// needs: gradients of a prediction with respect to its input or
  /// activations, as explanation methods take them.
  case inferenceWithGradients

  /// Whether forward keeps what backward needs.
  public var keepsCaches: Bool { self != .inference }
}

/// A trainable tensor and the gradient accumulated for it.
///
/// `name` is the Keras-style weight name inside its layer ("kernel", "bias").
/// Conv kernels are stored in Keras's HWIO layout (kh, kw, inChannels,
/// outChannels) and Dense kernels as (inFeatures, outFeatures), so that model
/// files and `.npy` dumps match Keras.
///
/// The gradient (zeros, `value`'s shape) is made when first written, so
/// that a network only run forward, a model imported for prediction,
/// holds its weights once rather than beside as many zeros.
public struct Parameter: Sendable {
  public var name: String
  public var value: Tensor
  /// The gradient once written; nil before.
  var accumulated: Tensor?

  public init(name: String, value: Tensor) {
    self.name = name
    self.value = value
  }

  /// The gradient accumulated for `value`: zeros until backward adds in.
  public var grad: Tensor {
    get { accumulated ?? Tensor(zeros: value.shape) }
    set { accumulated = newValue }
    _modify {
      if accumulated == nil { accumulated = Tensor(zeros: value.shape) }
      yield &accumulated!
    }
  }
}

extension Parameter {
  /// Runs `body` with pointers to the gradients of `kernel` and `bias`
  /// (made as zeros if never written) to add into, or with nil for both
  /// unless `needed`: the C kernels then skip the parameter gradients and
  /// neither gradient is made.
  static func withGradients<Result>(
    of kernel: inout Parameter, _ bias: inout Parameter, if needed: Bool,
    _ body: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Result
  ) -> Result {
    guard needed else { return body(nil, nil) }
    return kernel.grad.storage.withUnsafeMutableBufferPointer { dk in
      bias.grad.storage.withUnsafeMutableBufferPointer { db in
        body(dk.baseAddress, db.baseAddress)
      }
    }
  }
}

/// What an operation can be when it directly follows another one: work the
/// producer may fold into its own output pass, so that the tensor between
/// them is never stored. The planner reads this; the executor never asks
/// which concrete type an operation is.
public enum FusionRole: Sendable, Hashable {
  /// max(x, 0), element-wise.
  case relu
  /// Max pooling with this window.
  case maxPooling(PoolWindow)
  /// Softmax over each sample's features; a loss may take its logits instead.
  case softmax
  /// min(max(x, low), high), element-wise (ReLU6 is clip(0, 6)).
  case clip(low: Float, high: Float)
}

/// One operation of a graph: a node's work, with its parameters.
///
/// Tensors carry the batch as their first axis: (N, C, H, W) for images,
/// (N, F) for flat features; shapes given to `outputShape` are per sample.
/// `forward` in `.training` mode keeps what `backward` needs; `backward`
/// adds into the parameters' `grad` (callers zero them between steps) and
/// returns the gradient of each input whose flag is set (nil for the
/// others, which the operation may skip computing). Calling `backward`
/// without a preceding `.training` forward is a programmer error.
public protocol Operation: Sendable {
  /// Keras-style kind, e.g. "Conv2D", "MaxPooling2D", "Add".
  var kind: String { get }
  /// The per-sample output shape for per-sample input shapes, or why the
  /// operation cannot take them.
  func outputShape(for inputShapes: [Shape]) throws(EngineError) -> Shape
  mutating func forward(_ inputs: [Tensor], mode: Mode) throws(EngineError) -> Tensor
  mutating func backward(
    _ dOutput: Tensor, needsInputGradients: [Bool]
  ) throws(EngineError) -> [Tensor?]
  /// `backward(_:needsInputGradients:)`, adding into the parameters'
  /// gradients only with `needsParameterGradients`: without, they stay as
  /// they were (nil, never made, if never written), as explanations need
  /// only input gradients. Operations that can skip the parameter
  /// gradients' work do (`Conv2D`, `Dense`, `Arithmetic` with a constant);
  /// the default computes them and puts the old gradients back.
  mutating func backward(
    _ dOutput: Tensor, needsInputGradients: [Bool], needsParameterGradients: Bool
  ) throws(EngineError) -> [Tensor?]
  /// Visits every trainable parameter in a fixed order.
  mutating func forEachParameter(_ body: (inout Parameter) -> Void)
  /// The state of the operation's own random generator (dropout masks), for
  /// checkpoints; nil for operations that draw no random numbers. Setting
  /// nil or an invalid state is ignored.
  var generatorState: [UInt64]? { get set }
  /// What this operation is as the follower of another (nil: nothing foldable).
  var fusionRole: FusionRole? { get }
  /// Whether `forward(_:mode:folding:)` takes these followers, in order.
  func canFold(_ stages: [FusionRole]) -> Bool
  /// `forward` with the followers `stages` (which `canFold` accepted) done
  /// in the same pass as far as these inputs allow. Returns the output after
  /// the first `folded` stages; the caller runs the rest. `backward` then
  /// expects the gradient of that output.
  mutating func forward(
    _ inputs: [Tensor], mode: Mode, folding stages: [FusionRole]
  ) throws(EngineError) -> (output: Tensor, folded: Int)
  /// Whether `backward` follows guided backpropagation's rule
  /// (Springenberg et al. 2015) instead of the gradient: a rectifier
  /// passes only the positive part of the gradient it receives, where its
  /// own derivative passes it. Operations that do not rectify have no
  /// different rule and ignore the setting (false, setting ignored).
  var guidedBackward: Bool { get set }
  /// Whether guided backpropagation is defined through this operation: true
  /// for the rectifiers and for operations that do not rectify (their
  /// gradient is their guided rule), false for smooth non-linearities
  /// (sigmoid, tanh, softmax, hard sigmoid and hard swish), which have none.
  var hasGuidedRule: Bool { get }
  /// The kernel the last forward ran on, for profiles (`StepProfile`):
  /// "oneDNN jit:avx512_core", "OpenBLAS", "Swift", …
  var kernelDescription: String { get }
  /// The operation's name in profiles: `kind`, or more where the kind
  /// alone says little ("Activation(relu)").
  var profileName: String { get }
}

extension Operation {
  public mutating func forEachParameter(_ body: (inout Parameter) -> Void) {}

  public var generatorState: [UInt64]? {
    get { nil }
    set {}
  }

  public var fusionRole: FusionRole? { nil }

  public func canFold(_ stages: [FusionRole]) -> Bool { stages.isEmpty }

  public var guidedBackward: Bool {
    get { false }
    set {}
  }

  public var hasGuidedRule: Bool { true }

  public var kernelDescription: String { "Swift" }

  public var profileName: String { kind }

  public mutating func backward(
    _ dOutput: Tensor, needsInputGradients: [Bool], needsParameterGradients: Bool
  ) throws(EngineError) -> [Tensor?] {
    if needsParameterGradients {
      return try backward(dOutput, needsInputGradients: needsInputGradients)
    }
    var kept: [Tensor?] = []
    forEachParameter { kept.append($0.accumulated) }
    defer {
      var k = 0
      forEachParameter { parameter in
        parameter.accumulated = kept[k]
        k += 1
      }
    }
    return try backward(dOutput, needsInputGradients: needsInputGradients)
  }

  public mutating func forward(
    _ inputs: [Tensor], mode: Mode, folding stages: [FusionRole]
  ) throws(EngineError) -> (output: Tensor, folded: Int) {
    (try forward(inputs, mode: mode), 0)
  }
}

/// An operation with one input, as the layers of a sequential network are.
public protocol Layer: Operation {
  /// The per-sample output shape for a per-sample input shape.
  func outputShape(for inputShape: Shape) throws(EngineError) -> Shape
  mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor
  mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor
  /// Like `backward`, but the caller does not need the input gradient (the
  /// first layer of a network), so layers may skip computing it.
  mutating func backwardParametersOnly(_ dOutput: Tensor) throws(EngineError)
}

extension Layer {
  public mutating func backwardParametersOnly(_ dOutput: Tensor) throws(EngineError) {
    _ = try backward(dOutput)
  }

  public func outputShape(for inputShapes: [Shape]) throws(EngineError) -> Shape {
    guard inputShapes.count == 1 else {
      throw .inputCount(operation: kind, expected: 1, found: inputShapes.count)
    }
    return try outputShape(for: inputShapes[0])
  }

  public mutating func forward(_ inputs: [Tensor], mode: Mode) throws(EngineError) -> Tensor {
    precondition(inputs.count == 1, "\(kind) takes one input, got \(inputs.count)")
    return try forward(inputs[0], mode: mode)
  }

  public mutating func backward(
    _ dOutput: Tensor, needsInputGradients: [Bool]
  ) throws(EngineError) -> [Tensor?] {
    precondition(needsInputGradients.count == 1, "\(kind) has one input")
    if needsInputGradients[0] { return [try backward(dOutput)] }
    try backwardParametersOnly(dOutput)
    return [nil]
  }
}
