import Engine
import Tensors

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
