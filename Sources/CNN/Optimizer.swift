import Tensors
import _OptimizerKernels

/// The optimizers convviz implements, by their Keras names.
public enum OptimizerKind: String, CaseIterable, Sendable {
  case sgd, adadelta, adam, rmsprop
}

/// An optimizer's kind and hyper-parameters: what `convviz train` is given
/// and what model files record.
///
/// Defaults follow Keras. Adadelta's are those of the Keras the seed used
/// (learning rate 1.0); Keras 3 changed Adadelta's default learning rate
/// to 0.001, which trains the seed's network far more slowly.
public enum OptimizerConfiguration: Equatable, Sendable, CustomStringConvertible {
  case sgd(learningRate: Float, momentum: Float, nesterov: Bool)
  case adadelta(learningRate: Float, rho: Float, epsilon: Float)
  case adam(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float)
  case rmsprop(learningRate: Float, rho: Float, momentum: Float, epsilon: Float)

  /// The Keras defaults for `kind` (Adadelta: the seed's Keras, lr 1.0).
  public static func defaults(for kind: OptimizerKind) -> OptimizerConfiguration {
    switch kind {
    case .sgd: return .sgd(learningRate: 0.01, momentum: 0, nesterov: false)
    case .adadelta: return .adadelta(learningRate: 1.0, rho: 0.95, epsilon: 1e-7)
    case .adam: return .adam(learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
    case .rmsprop: return .rmsprop(learningRate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7)
    }
  }

  public var kind: OptimizerKind {
    switch self {
    case .sgd: return .sgd
    case .adadelta: return .adadelta
    case .adam: return .adam
    case .rmsprop: return .rmsprop
    }
  }

  public var learningRate: Float {
    switch self {
    case .sgd(let lr, _, _), .adadelta(let lr, _, _), .adam(let lr, _, _, _),
      .rmsprop(let lr, _, _, _):
      return lr
    }
  }

  /// The same configuration with another learning rate.
  public func withLearningRate(_ learningRate: Float) -> OptimizerConfiguration {
    switch self {
    case .sgd(_, let momentum, let nesterov):
      return .sgd(learningRate: learningRate, momentum: momentum, nesterov: nesterov)
    case .adadelta(_, let rho, let epsilon):
      return .adadelta(learningRate: learningRate, rho: rho, epsilon: epsilon)
    case .adam(_, let beta1, let beta2, let epsilon):
      return .adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon)
    case .rmsprop(_, let rho, let momentum, let epsilon):
      return .rmsprop(learningRate: learningRate, rho: rho, momentum: momentum, epsilon: epsilon)
    }
  }

  /// A fresh optimizer (no accumulated state) with this configuration.
  public func makeOptimizer() -> any Optimizer {
    switch self {
    case .sgd(let lr, let momentum, let nesterov):
      return SGD(learningRate: lr, momentum: momentum, nesterov: nesterov)
    case .adadelta(let lr, let rho, let epsilon):
      return Adadelta(learningRate: lr, rho: rho, epsilon: epsilon)
    case .adam(let lr, let beta1, let beta2, let epsilon):
      return Adam(learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon)
    case .rmsprop(let lr, let rho, let momentum, let epsilon):
      return RMSprop(learningRate: lr, rho: rho, momentum: momentum, epsilon: epsilon)
    }
  }

  /// Keras-like text, e.g. `adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-07)`.
  public var description: String {
    switch self {
    case .sgd(let lr, let momentum, let nesterov):
      return "sgd(learning_rate=\(lr), momentum=\(momentum), nesterov=\(nesterov))"
    case .adadelta(let lr, let rho, let epsilon):
      return "adadelta(learning_rate=\(lr), rho=\(rho), epsilon=\(epsilon))"
    case .adam(let lr, let beta1, let beta2, let epsilon):
      return "adam(learning_rate=\(lr), beta_1=\(beta1), beta_2=\(beta2), epsilon=\(epsilon))"
    case .rmsprop(let lr, let rho, let momentum, let epsilon):
      return "rmsprop(learning_rate=\(lr), rho=\(rho), momentum=\(momentum), epsilon=\(epsilon))"
    }
  }
}

/// Everything an optimizer accumulates between steps, for checkpoints.
///
/// `slots` holds, per slot name (e.g. Adam's "momentum" and "velocity"), one
/// tensor per parameter in the model's visiting order. Slots are empty
/// before the first step.
public struct OptimizerState: Equatable, Sendable {
  public struct Slot: Equatable, Sendable {
    public var name: String
    public var tensors: [Tensor]
    public init(name: String, tensors: [Tensor]) {
      self.name = name
      self.tensors = tensors
    }
  }

  public var iterations: Int
  public var slots: [Slot]

  public init(iterations: Int, slots: [Slot]) {
    self.iterations = iterations
    self.slots = slots
  }
}

/// A gradient-descent rule that updates parameters from their `grad`.
///
/// Parameters are identified by the order in which the model visits them,
/// so an optimizer must always be stepped with the same model. It does not
/// clear the gradients; the trainer does that before each batch.
public protocol Optimizer: Sendable {
  var configuration: OptimizerConfiguration { get }
  /// Number of steps taken so far (Keras's `optimizer.iterations`).
  var iterations: Int { get }
  /// Applies one update to every parameter that `forEachParameter` visits.
  mutating func step(_ forEachParameter: ((inout Parameter) -> Void) -> Void)
  /// The accumulated state, for checkpoints.
  var state: OptimizerState { get }
  /// Replaces the accumulated state with one saved by `state`.
  ///
  /// Throws when the slot names do not belong to this optimizer; shapes are
  /// checked against the parameters at the next step.
  mutating func restore(_ state: OptimizerState) throws(OptimizerStateError)
}

extension Optimizer {
  /// Applies one update to every parameter of `model`.
  public mutating func step<L: Layer>(_ model: inout L) {
    step { body in model.forEachParameter(body) }
  }
}

/// A saved optimizer state that does not fit the optimizer or model.
public enum OptimizerStateError: Error, Equatable, CustomStringConvertible {
  case slotMismatch(optimizer: OptimizerKind, expected: [String], found: [String])
  case parameterCountMismatch(slot: String, expected: Int, found: Int)

  public var description: String {
    switch self {
    case .slotMismatch(let kind, let expected, let found):
      return "\(kind.rawValue) state has slots \(found), expected \(expected)"
    case .parameterCountMismatch(let slot, let expected, let found):
      return "optimizer slot \(slot) has \(found) tensors, expected \(expected)"
    }
  }
}

/// Per-parameter tensors of one optimizer slot, created lazily at the first
/// step with the shapes of the parameters.
struct SlotTensors: Sendable {
  var tensors: [Tensor] = []

  /// The slot tensor for parameter `index`, creating zeros when first seen.
  ///
  /// A restored slot whose shape does not match the parameter is a
  /// programmer error: the model file reader checks shapes first.
  mutating func prepare(_ index: Int, like parameter: Parameter) {
    if index == tensors.count {
      tensors.append(Tensor(zeros: parameter.value.shape))
    }
    precondition(
      tensors[index].shape == parameter.value.shape,
      "optimizer slot \(index) has shape \(tensors[index].shape), parameter \(parameter.name) "
        + "has \(parameter.value.shape)")
  }
}

/// Checks that a restored state names exactly `expected` slots, in order,
/// each with as many tensors as the others.
func validatedSlots(
  _ state: OptimizerState, kind: OptimizerKind, expected: [String]
) throws(OptimizerStateError) -> [[Tensor]] {
  let found = state.slots.map(\.name)
  if found.isEmpty && state.iterations == 0 { return expected.map { _ in [] } }
  guard found == expected else {
    throw .slotMismatch(optimizer: kind, expected: expected, found: found)
  }
  guard let count = state.slots.first?.tensors.count else { return [] }
  for slot in state.slots where slot.tensors.count != count {
    throw .parameterCountMismatch(slot: slot.name, expected: count, found: slot.tensors.count)
  }
  return state.slots.map(\.tensors)
}

extension Optimizer {
  /// Applies one update to every parameter of `model`.
  public mutating func step(_ model: inout Sequential) {
    step { body in model.forEachParameter(body) }
  }
}

/// Calls `body` with the C view of a parameter and up to two slot tensors
/// (nil slots are passed as NULL).
func withKernelTensor(
  _ parameter: inout Parameter, _ slot0: inout Tensor?, _ slot1: inout Tensor?,
  _ body: (cvz_optimizer_tensor) -> Void
) {
  let count = parameter.value.count
  parameter.value.storage.withUnsafeMutableBufferPointer { w in
    parameter.grad.storage.withUnsafeBufferPointer { g in
      withOptionalPointer(&slot0) { s0 in
        withOptionalPointer(&slot1) { s1 in
          body(
            cvz_optimizer_tensor(
              value: w.baseAddress, grad: g.baseAddress, slot0: s0, slot1: s1, count: count))
        }
      }
    }
  }
}

private func withOptionalPointer(
  _ tensor: inout Tensor?, _ body: (UnsafeMutablePointer<Float>?) -> Void
) {
  guard tensor != nil else { return body(nil) }
  tensor!.storage.withUnsafeMutableBufferPointer { body($0.baseAddress) }
}

extension SlotTensors {
  /// Moves tensor `index` out for a kernel call and back, avoiding a copy.
  mutating func take(_ index: Int) -> Tensor? {
    let tensor = tensors[index]
    tensors[index] = Tensor(zeros: Shape(0))
    return tensor
  }
}
