import Engine
import ModelFormats
import Tensors
import _OptimizerKernels

extension OptimizerConfiguration {
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
}

/// A gradient-descent rule that updates parameters from their `grad`.
///
/// Parameters are identified by the order in which the model visits them,
/// so an optimizer must always be stepped with the same model. It does not
/// clear the gradients; the trainer does that before each batch.
public protocol Optimizer: Sendable {
  var configuration: OptimizerConfiguration { get }
  /// The rate the next steps use; a learning-rate schedule sets it each epoch.
  var learningRate: Float { get set }
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

  /// One step with decoupled weight decay first, as Keras 3's optimizers
  /// apply `weight_decay` (AdamW is Adam with it): every weight w, biases
  /// included, becomes w − (w · weightDecay) · lr, lr being the rate this
  /// step uses; then the optimizer's own update. 0 is a plain `step`.
  public mutating func step(
    weightDecay: Float, _ forEachParameter: ((inout Parameter) -> Void) -> Void
  ) {
    if weightDecay > 0 {
      let rate = learningRate
      forEachParameter { parameter in
        parameter.value.storage.withUnsafeMutableBufferPointer { w in
          for i in w.indices { w[i] -= (w[i] * weightDecay) * rate }
        }
      }
    }
    step(forEachParameter)
  }

  /// `step(weightDecay:_:)` over every parameter of `model`.
  public mutating func step(_ model: inout Sequential, weightDecay: Float) {
    step(weightDecay: weightDecay) { body in model.forEachParameter(body) }
  }
}

/// One step of a two-slot optimizer (Adadelta, Adam) over every parameter
/// that `forEachParameter` visits; slot tensors start as zeros.
func stepWithSlots(
  _ forEachParameter: ((inout Parameter) -> Void) -> Void, _ first: inout SlotTensors,
  _ second: inout SlotTensors, _ kernel: (cvz_optimizer_tensor) -> Void
) {
  // The compiler cannot see that `kernel` never reenters `forEachParameter`.
  withoutActuallyEscaping(kernel) { kernel in
    var index = 0
    forEachParameter { parameter in
      defer { index += 1 }
      first.prepare(index, like: parameter)
      second.prepare(index, like: parameter)
      var a = first.take(index)
      var b = second.take(index)
      withKernelTensor(&parameter, &a, &b, kernel)
      first.tensors[index] = a
      second.tensors[index] = b
    }
  }
}

/// Calls `body` with the C view of a parameter and two slot tensors.
func withKernelTensor(
  _ parameter: inout Parameter, _ slot0: inout Tensor, _ slot1: inout Tensor,
  _ body: (cvz_optimizer_tensor) -> Void
) {
  slot0.storage.withUnsafeMutableBufferPointer { s0 in
    slot1.storage.withUnsafeMutableBufferPointer { s1 in
      withKernelTensor(&parameter, s0.baseAddress, s1.baseAddress, body)
    }
  }
}

/// Calls `body` with the C view of a parameter and one slot tensor; the
/// second slot is NULL.
func withKernelTensor(
  _ parameter: inout Parameter, _ slot0: inout Tensor, _ body: (cvz_optimizer_tensor) -> Void
) {
  slot0.storage.withUnsafeMutableBufferPointer { s0 in
    withKernelTensor(&parameter, s0.baseAddress, nil, body)
  }
}

/// Calls `body` with the C view of a parameter alone; both slots are NULL.
func withKernelTensor(_ parameter: inout Parameter, _ body: (cvz_optimizer_tensor) -> Void) {
  withKernelTensor(&parameter, nil, nil, body)
}

private func withKernelTensor(
  _ parameter: inout Parameter, _ slot0: UnsafeMutablePointer<Float>?,
  _ slot1: UnsafeMutablePointer<Float>?, _ body: (cvz_optimizer_tensor) -> Void
) {
  let count = parameter.value.count
  // The gradient is a computed property (made when first written): read
  // once, before the value's storage is lent out.
  let grad = parameter.grad
  parameter.value.storage.withUnsafeMutableBufferPointer { w in
    grad.storage.withUnsafeBufferPointer { g in
      body(
        cvz_optimizer_tensor(
          value: w.baseAddress, grad: g.baseAddress, slot0: slot0, slot1: slot1, count: count))
    }
  }
}

extension SlotTensors {
  /// Moves tensor `index` out for a kernel call (put it back afterwards),
  /// so that writing through its storage does not copy it.
  mutating func take(_ index: Int) -> Tensor {
    let tensor = tensors[index]
    tensors[index] = Tensor(zeros: Shape(0))
    return tensor
  }
}
