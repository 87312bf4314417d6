import Engine
import ModelFormats
import Tensors
import _OptimizerKernels

/// Stochastic gradient descent with optional momentum and Nesterov momentum,
/// exactly as Keras's `keras.optimizers.SGD`:
///
///     m = momentum * m - lr * g
///     w += m                          (plain momentum)
///     w += momentum * m - lr * g      (Nesterov)
///     w -= lr * g                     (momentum 0: no slot is kept)
public struct SGD: Optimizer {
  public var learningRate: Float
  public var momentum: Float
  public var nesterov: Bool
  public private(set) var iterations = 0
  private var velocities = SlotTensors()

  public init(learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false) {
    precondition(momentum >= 0 && momentum <= 1, "SGD momentum must be in [0, 1]")
    self.learningRate = learningRate
    self.momentum = momentum
    self.nesterov = nesterov
  }

  public var configuration: OptimizerConfiguration {
    .sgd(learningRate: learningRate, momentum: momentum, nesterov: nesterov)
  }

  private var slotNames: [String] { momentum != 0 ? ["momentum"] : [] }

  public mutating func step(_ forEachParameter: ((inout Parameter) -> Void) -> Void) {
    let lr = learningRate
    let mu = momentum
    let nesterov = nesterov
    var index = 0
    forEachParameter { parameter in
      defer { index += 1 }
      var velocity: Tensor? = nil
      if mu != 0 {
        velocities.prepare(index, like: parameter)
        velocity = velocities.take(index)
      }
      var unused: Tensor? = nil
      withKernelTensor(&parameter, &velocity, &unused) {
        cvz_sgd_step($0, lr, mu, nesterov ? 1 : 0)
      }
      if let velocity { velocities.tensors[index] = velocity }
    }
    iterations += 1
  }

  public var state: OptimizerState {
    OptimizerState(
      iterations: iterations,
      slots: slotNames.map { OptimizerState.Slot(name: $0, tensors: velocities.tensors) })
  }

  public mutating func restore(_ state: OptimizerState) throws(OptimizerStateError) {
    let slots = try validatedSlots(state, kind: .sgd, expected: slotNames)
    velocities.tensors = slots.first ?? []
    iterations = state.iterations
  }
}
