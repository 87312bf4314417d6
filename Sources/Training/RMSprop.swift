import Engine
import ModelFormats
import Tensors
import _OptimizerKernels

/// RMSprop (Hinton, Coursera lecture 6e) with optional plain momentum, as
/// Keras 3 computes it; note that ε sits inside the square root:
///
///     v = rho * v + (1 - rho) * g²
///     Δ = lr * g / sqrt(v + ε)
///     m = momentum * m + Δ;  w -= m     (momentum > 0)
///     w -= Δ                            (momentum 0: no slot is kept)
public struct RMSprop: Optimizer {
  public var learningRate: Float
  public var rho: Float
  public var momentum: Float
  public var epsilon: Float
  public private(set) var iterations = 0
  private var velocities = SlotTensors()
  private var momentums = SlotTensors()

  public init(
    learningRate: Float = 0.001, rho: Float = 0.9, momentum: Float = 0, epsilon: Float = 1e-7
  ) {
    precondition(rho >= 0 && rho <= 1, "RMSprop rho must be in [0, 1]")
    precondition(momentum >= 0 && momentum <= 1, "RMSprop momentum must be in [0, 1]")
    self.learningRate = learningRate
    self.rho = rho
    self.momentum = momentum
    self.epsilon = epsilon
  }

  public var configuration: OptimizerConfiguration {
    .rmsprop(learningRate: learningRate, rho: rho, momentum: momentum, epsilon: epsilon)
  }

  private var slotNames: [String] { momentum > 0 ? ["velocity", "momentum"] : ["velocity"] }

  public mutating func step(_ forEachParameter: ((inout Parameter) -> Void) -> Void) {
    let lr = learningRate
    let rho = rho
    let mu = momentum
    let eps = epsilon
    var index = 0
    forEachParameter { parameter in
      defer { index += 1 }
      velocities.prepare(index, like: parameter)
      var v = velocities.take(index)
      var m: Tensor? = nil
      if mu > 0 {
        momentums.prepare(index, like: parameter)
        m = momentums.take(index)
      }
      withKernelTensor(&parameter, &v, &m) { cvz_rmsprop_step($0, lr, rho, mu, eps) }
      velocities.tensors[index] = v ?? Tensor(zeros: parameter.value.shape)
      if let m { momentums.tensors[index] = m }
    }
    iterations += 1
  }

  public var state: OptimizerState {
    var slots = [OptimizerState.Slot(name: "velocity", tensors: velocities.tensors)]
    if momentum > 0 { slots.append(.init(name: "momentum", tensors: momentums.tensors)) }
    return OptimizerState(iterations: iterations, slots: slots)
  }

  public mutating func restore(_ state: OptimizerState) throws(OptimizerStateError) {
    let slots = try validatedSlots(state, kind: .rmsprop, expected: slotNames)
    velocities.tensors = slots[0]
    momentums.tensors = slots.count > 1 ? slots[1] : []
    iterations = state.iterations
  }
}
