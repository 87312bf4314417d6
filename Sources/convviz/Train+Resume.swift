import Engine
import ModelFormats
import Training

extension Train {
  /// `--resume` continues with the checkpoint's settings. An option given
  /// with the checkpoint's own value is fine (a script can repeat its
  /// command line); any other value is refused, naming both, rather than
  /// silently ignored. `--epochs` is the one that applies: the new total.
  func checkResumeOptions(against trainer: Trainer) throws {
    let stored = trainer.configuration
    try same("--resize", resize.resize, trainer.resize, show: \.rawValue)
    try same("--batch-size", requestedBatchSize, stored.batchSize)
    try same("--validation-split", requestedValidationSplit, stored.validationSplit)
    try same("--seed", requestedSeed, stored.seed)
    try same(
      "--augment", augmentOption.map { _ in augmentation }, stored.augmentation,
      show: \.description)
    // A cosine schedule without a period took the run's length when it started.
    let givenSchedule = scheduleOption.map { _ in schedule }
    if givenSchedule != .cosine(epochs: nil) || !isCosine(stored.learningRateSchedule) {
      try same(
        "--lr-schedule", givenSchedule, stored.learningRateSchedule, show: \.description)
    }
    try same("--weight-decay", weightDecay, stored.weightDecay)
    try same(
      "--early-stopping", earlyStopping, stored.earlyStoppingPatience ?? 0,
      show: { $0 == 0 ? "(none)" : "\($0)" })
    if saveBest && !stored.saveBest {
      throw CommandFailure.usage(
        "--save-best conflicts with the checkpoint, which does not save the best model; "
          + Self.resumeHint)
    }
    if let model {
      let argument = try ModelArgument.resolve(model, allowModelFile: false, memory: memory)
      var spec = argument.spec
      // A preset was sized to the data it trained on.
      if case .preset(let preset) = argument, case .image(_, _, let c) = trainer.spec.input,
        let classes = trainer.spec.classCount
      {
        spec = try preset.spec(channels: c, classes: classes)
      }
      if spec != trainer.spec {
        throw CommandFailure.usage(
          "--model \(model) is not the checkpoint's model; \(Self.resumeHint)")
      }
    }
    let optimizer = trainer.optimizer.configuration
    try same("--optimizer", requestedOptimizer, optimizer.kind, show: \.rawValue)
    do {
      try checkOptimizerOptions(for: optimizer.kind)
    } catch {
      throw CommandFailure.usage(
        "the checkpoint's optimizer is \(optimizer.kind.rawValue): "
          + "\(CommandFailure(error).description)")
    }
    try same("--learning-rate", learningRate, optimizer.learningRate)
    switch optimizer {
    case .sgd(_, let m, let n):
      try same("--momentum", momentum, m)
      if nesterov && !n {
        throw CommandFailure.usage(
          "--nesterov conflicts with the checkpoint's plain momentum; \(Self.resumeHint)")
      }
    case .adadelta(_, let r, let e):
      try same("--rho", rho, r)
      try same("--epsilon", epsilon, e)
    case .adam(_, let b1, let b2, let e):
      try same("--beta1", beta1, b1)
      try same("--beta2", beta2, b2)
      try same("--epsilon", epsilon, e)
    case .rmsprop(_, let r, let m, let e):
      try same("--rho", rho, r)
      try same("--momentum", momentum, m)
      try same("--epsilon", epsilon, e)
    }
  }

  private func isCosine(_ schedule: LearningRateSchedule) -> Bool {
    if case .cosine = schedule { return true }
    return false
  }

  static let resumeHint =
    "--resume continues with the checkpoint's settings: drop the option, or start over with "
    + "--overwrite"

  private func same<Value: Equatable>(
    _ flag: String, _ given: Value?, _ stored: Value,
    show: (Value) -> String = { "\($0)" }
  ) throws {
    guard let given, given != stored else { return }
    throw CommandFailure.usage(
      "\(flag) \(show(given)) conflicts with the checkpoint's \(show(stored)); \(Self.resumeHint)")
  }
}
