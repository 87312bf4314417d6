import Datasets
import Engine
import ModelFormats
import Tensors

/// What happens between epochs: the learning-rate schedule, early stopping
/// with the best weights restored, and the best-so-far that `saveBest`
/// writes. Everything is derived from the history (the validation losses,
/// stored exactly in checkpoints) except the best epoch's weights, which a
/// checkpoint keeps (`KeptWeights`) when the model holds other ones.
extension Trainer {
  /// Throws when an option that watches the validation loss has none.
  static func checkValidation(_ configuration: TrainingConfiguration) throws(TrainerError) {
    guard configuration.validationSplit == 0 else { return }
    if configuration.learningRateSchedule.needsValidation {
      throw .needsValidation(option: "--lr-schedule plateau")
    }
    if configuration.earlyStoppingPatience != nil {
      throw .needsValidation(option: "--early-stopping")
    }
    if configuration.saveBest { throw .needsValidation(option: "--save-best") }
  }

  /// The epoch (1-based) with the lowest validation loss so far, the
  /// first of equals (an epoch counts as better only when strictly lower,
  /// as Keras's `EarlyStopping` and `ModelCheckpoint` compare); nil before
  /// the first validated epoch.
  public var bestEpoch: Int? {
    var best: (epoch: Int, loss: Double)?
    for record in history {
      guard let loss = record.validationLoss else { continue }
      if best == nil || loss < best!.loss { best = (record.epoch, loss) }
    }
    return best?.epoch
  }

  /// Whether early stopping has ended training: `patience` epochs have
  /// passed since the best one.
  public var stoppedEarly: Bool {
    guard let patience = configuration.earlyStoppingPatience, let best = bestEpoch else {
      return false
    }
    return epochsCompleted - best >= patience
  }

  /// The history with each epoch's learning rate: what the history CSV
  /// prints.
  public var historyWithLearningRates: [EpochRecord] {
    configuration.learningRateSchedule.addingRates(to: history, base: baseLearningRate)
  }

  /// Sets the epoch's learning rate, and with early stopping keeps a copy
  /// of the weights when they are the best so far (training changes them).
  mutating func startEpoch(_ epoch: Int, data: Dataset, progress: (TrainingProgress) -> Void) {
    optimizer.learningRate = learningRate(epoch: epoch)
    if configuration.earlyStoppingPatience != nil && bestEpoch == epochsCompleted
      && epochsCompleted > 0
    {
      bestWeights = parameterValues
    }
  }

  /// At the end of training with early stopping: the model takes the best
  /// epoch's weights, and the last epoch's are kept to continue from.
  mutating func restoreBestWeights() {
    guard configuration.earlyStoppingPatience != nil, bestEpoch != epochsCompleted,
      let best = bestWeights
    else { return }
    lastWeights = parameterValues
    setParameterValues(best)
  }

  /// Undoes `restoreBestWeights` before training further.
  mutating func resumeFromLastWeights() {
    guard let last = lastWeights else { return }
    bestWeights = parameterValues
    setParameterValues(last)
    lastWeights = nil
  }

  /// The weights a checkpoint must keep besides the model's.
  var keptWeights: KeptWeights? {
    let names = spec.parameterShapes.map(\.name)
    func named(_ values: [Tensor]) -> [NamedTensor] {
      zip(names, values).map { NamedTensor(name: $0, tensor: $1) }
    }
    if let last = lastWeights { return KeptWeights(role: .last, tensors: named(last)) }
    if configuration.earlyStoppingPatience != nil, bestEpoch != epochsCompleted,
      let best = bestWeights
    {
      return KeptWeights(role: .best, tensors: named(best))
    }
    return nil
  }

  /// Takes a checkpoint's kept weights back (see `keptWeights`).
  mutating func restoreKeptWeights(_ kept: KeptWeights?, path: String) throws(TrainerError) {
    switch kept?.role {
    case .best?: bestWeights = kept!.tensors.map(\.tensor)
    case .last?: lastWeights = kept!.tensors.map(\.tensor)
    case nil:
      if configuration.earlyStoppingPatience != nil, let best = bestEpoch,
        best != epochsCompleted
      {
        throw .checkpointMismatch(
          path: path, reason: "early stopping without the best epoch's weights")
      }
    }
  }

  /// The model's parameter values, in `forEachParameter` order.
  var parameterValues: [Tensor] { model.parameterValues }

  mutating func setParameterValues(_ values: [Tensor]) {
    var index = 0
    model.forEachParameter { parameter in
      precondition(values[index].shape == parameter.value.shape, "weights do not fit the model")
      parameter.value = values[index]
      index += 1
    }
  }
}
