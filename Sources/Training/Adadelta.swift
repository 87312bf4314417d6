import Engine
import ModelFormats
import Tensors
import _OptimizerKernels

/// Adadelta (Zeiler 2012, https://arxiv.org/abs/1212.5701), as Keras
/// computes it:
///
///     a = rho * a + (1 - rho) * g²
///     Δ = -sqrt(d + ε) / sqrt(a + ε) * g
///     d = rho * d + (1 - rho) * Δ²
///     w += lr * Δ
///
/// The defaults (learning rate 1.0, rho 0.95, ε 1e-7) are those of the Keras
/// the seed used. Keras 3 changed the default learning rate to 0.001; pass
/// `learningRate: 0.001` to compare with a Keras 3 run that kept defaults.
public struct Adadelta: Optimizer {
  public var learningRate: Float
  public var rho: Float
  public var epsilon: Float
  public private(set) var iterations = 0
  private var accumulatedGrads = SlotTensors()
  private var accumulatedDeltas = SlotTensors()

  static let slotNames = ["accumulated_grad", "accumulated_delta_var"]

  public init(learningRate: Float = 1.0, rho: Float = 0.95, epsilon: Float = 1e-7) {
    precondition(rho >= 0 && rho <= 1, "Adadelta rho must be in [0, 1]")
    precondition(epsilon > 0, "Adadelta epsilon must be positive")
    self.learningRate = learningRate
    self.rho = rho
    self.epsilon = epsilon
  }

  public var configuration: OptimizerConfiguration {
    .adadelta(learningRate: learningRate, rho: rho, epsilon: epsilon)
  }

  public mutating func step(_ forEachParameter: ((inout Parameter) -> Void) -> Void) {
    let lr = learningRate
    let rho = rho
    let eps = epsilon
    var index = 0
    forEachParameter { parameter in
      defer { index += 1 }
      accumulatedGrads.prepare(index, like: parameter)
      accumulatedDeltas.prepare(index, like: parameter)
      var a = accumulatedGrads.take(index)
      var d = accumulatedDeltas.take(index)
      withKernelTensor(&parameter, &a, &d) { cvz_adadelta_step($0, lr, rho, eps) }
      accumulatedGrads.tensors[index] = a ?? Tensor(zeros: parameter.value.shape)
      accumulatedDeltas.tensors[index] = d ?? Tensor(zeros: parameter.value.shape)
    }
    iterations += 1
  }

  public var state: OptimizerState {
    OptimizerState(
      iterations: iterations,
      slots: [
        .init(name: Self.slotNames[0], tensors: accumulatedGrads.tensors),
        .init(name: Self.slotNames[1], tensors: accumulatedDeltas.tensors),
      ])
  }

  public mutating func restore(_ state: OptimizerState) throws(OptimizerStateError) {
    let slots = try validatedSlots(state, kind: .adadelta, expected: Self.slotNames)
    accumulatedGrads.tensors = slots[0]
    accumulatedDeltas.tensors = slots[1]
    iterations = state.iterations
  }
}
