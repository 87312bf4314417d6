import Engine
import ModelFormats
import Tensors
import _OptimizerKernels

#if canImport(Glibc)
  import Glibc
#endif

/// Adam (Kingma and Ba 2014, https://arxiv.org/abs/1412.6980), as Keras
/// computes it, with the bias correction folded into the step size:
///
///     t = iterations + 1
///     α = lr * sqrt(1 - β₂ᵗ) / (1 - β₁ᵗ)
///     m += (g - m) * (1 - β₁)
///     v += (g² - v) * (1 - β₂)
///     w -= α * m / (sqrt(v) + ε)
public struct Adam: Optimizer {
  public var learningRate: Float
  public var beta1: Float
  public var beta2: Float
  public var epsilon: Float
  public private(set) var iterations = 0
  private var momentums = SlotTensors()
  private var velocities = SlotTensors()

  static let slotNames = ["momentum", "velocity"]

  public init(
    learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7
  ) {
    precondition(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam betas must be in [0, 1)")
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
  }

  public var configuration: OptimizerConfiguration {
    .adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon)
  }

  public mutating func step(_ forEachParameter: ((inout Parameter) -> Void) -> Void) {
    let t = Float(iterations + 1)
    let alpha = learningRate * sqrtf(1 - powf(beta2, t)) / (1 - powf(beta1, t))
    let beta1 = beta1
    let beta2 = beta2
    let eps = epsilon
    var index = 0
    forEachParameter { parameter in
      defer { index += 1 }
      momentums.prepare(index, like: parameter)
      velocities.prepare(index, like: parameter)
      var m = momentums.take(index)
      var v = velocities.take(index)
      withKernelTensor(&parameter, &m, &v) { cvz_adam_step($0, alpha, beta1, beta2, eps) }
      momentums.tensors[index] = m ?? Tensor(zeros: parameter.value.shape)
      velocities.tensors[index] = v ?? Tensor(zeros: parameter.value.shape)
    }
    iterations += 1
  }

  public var state: OptimizerState {
    OptimizerState(
      iterations: iterations,
      slots: [
        .init(name: Self.slotNames[0], tensors: momentums.tensors),
        .init(name: Self.slotNames[1], tensors: velocities.tensors),
      ])
  }

  public mutating func restore(_ state: OptimizerState) throws(OptimizerStateError) {
    let slots = try validatedSlots(state, kind: .adam, expected: Self.slotNames)
    momentums.tensors = slots[0]
    velocities.tensors = slots[1]
    iterations = state.iterations
  }
}
