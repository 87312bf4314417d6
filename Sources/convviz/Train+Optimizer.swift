import ArgumentParser
import ModelFormats
import Training

extension Train {
  /// Options that only some optimizers have.
  func checkOptimizerOptions(for kind: OptimizerKind) throws {
    let applicable: [(String, Bool, Set<OptimizerKind>)] = [
      ("--momentum", momentum != nil, [.sgd, .rmsprop]),
      ("--nesterov", nesterov, [.sgd]),
      ("--rho", rho != nil, [.adadelta, .rmsprop]),
      ("--beta1", beta1 != nil, [.adam]),
      ("--beta2", beta2 != nil, [.adam]),
      ("--epsilon", epsilon != nil, [.adadelta, .adam, .rmsprop]),
    ]
    for (flag, given, kinds) in applicable where given && !kinds.contains(kind) {
      let names = kinds.map(\.rawValue).sorted().joined(separator: ", ")
      throw ValidationError("\(flag) applies to \(names), not \(kind.rawValue)")
    }
  }

  /// The optimizer with Keras's defaults overridden by the options given.
  var optimizerConfiguration: OptimizerConfiguration {
    switch OptimizerConfiguration.defaults(for: optimizer) {
    case .sgd(let lr, let m, let n):
      return .sgd(
        learningRate: learningRate ?? lr, momentum: momentum ?? m,
        nesterov: nesterov || n)
    case .adadelta(let lr, let r, let e):
      return .adadelta(learningRate: learningRate ?? lr, rho: rho ?? r, epsilon: epsilon ?? e)
    case .adam(let lr, let b1, let b2, let e):
      return .adam(
        learningRate: learningRate ?? lr, beta1: beta1 ?? b1, beta2: beta2 ?? b2,
        epsilon: epsilon ?? e)
    case .rmsprop(let lr, let r, let m, let e):
      return .rmsprop(
        learningRate: learningRate ?? lr, rho: rho ?? r, momentum: momentum ?? m,
        epsilon: epsilon ?? e)
    }
  }
}
