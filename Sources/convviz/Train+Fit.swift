import Files
import Engine
import ModelFormats
import Training
import Datasets
import Visualization

extension Train {
  /// Trains up to `epochs`, a line per epoch (and a progress bar on a
  /// terminal), then writes the history, the pictures and the test result.
  /// `adaptation` says what a preset changed to fit the data.
  func fit(_ trainer: inout Trainer, splits: DatasetSplits, adaptation: String = "") throws {
    let trainingCount = ValidationSplit.trainingCount(
      samples: splits.train.count, fraction: trainer.configuration.validationSplit)
    let validationCount = splits.train.count - trainingCount
    let parameters = TextFormat.grouped(ModelSummary(trainer.spec).totalCount)
    Terminal.say(
      "training \(model ?? output) (\(parameters) parameters\(adaptation)) on "
        + "\(data.describe(splits)): \(trainingCount) training, \(validationCount) validation "
        + "samples; \(trainer.optimizer.configuration)"
        + Self.optionsSummary(trainer.configuration))
    try OutputPaths.makeParentFolder(of: output)
    try OutputPaths.makeParentFolder(of: historyPath)
    let picturePrefix = TrainingPictures.prefix(forModelAt: output)
    let snapshotFolder = picturePrefix + "-snapshots"
    if snapshotEvery != nil { try Folder.create(snapshotFolder) }

    var snapshotError: (any Error)?
    var reporter = TrainingReporter(
      configuration: trainer.configuration, baseRate: trainer.baseLearningRate,
      history: trainer.history)
    try trainer.fit(
      splits.train, checkpointPath: output,
      bestModelPath: trainer.configuration.saveBest ? bestModelPath : nil
    ) { event in
      reporter.report(event)
      guard case .epochFinished(let record) = event, let every = snapshotEvery,
        record.epoch % every == 0, snapshotError == nil
      else { return }
      do {
        let files = try writeTrainingSnapshot(
          model: ModelFile.read(from: output), probe: splits.train.batch([0]).images,
          epoch: record.epoch, folder: snapshotFolder)
        Terminal.say("wrote \(files.filters) and \(files.featureMaps)")
      } catch { snapshotError = error }
    }
    if let snapshotError { throw snapshotError }
    sayBestEpoch(trainer)
    try AtomicFile.write(EpochRecord.csv(trainer.historyWithLearningRates), to: historyPath)
    var pictures = try TrainingPictures.writeCurves(trainer.history, pathPrefix: picturePrefix)
    if let test = splits.test {
      let result = try trainer.evaluate(test)
      try TrainingPictures.writeConfusionMatrix(
        result.confusion, classNames: trainer.classNames, to: picturePrefix + "-confusion.png")
      pictures.append(picturePrefix + "-confusion.png")
      Terminal.say(
        "test loss \(TextFormat.fixed(result.loss, 4))  test accuracy "
          + "\(TextFormat.fixed(result.accuracy, 4)) (\(plural(test.count, "sample")))")
    }
    Terminal.say(
      "wrote \(output) (\(plural(trainer.epochsCompleted, "epoch")), with checkpoint) and "
        + historyPath)
    for picture in pictures { Terminal.say("wrote \(picture)") }
  }

  /// `; augment flip,shift=0.1; lr-schedule cosine:20; early stopping 5; save best`,
  /// or "" without such options.
  static func optionsSummary(_ configuration: TrainingConfiguration) -> String {
    var parts: [String] = []
    if !configuration.augmentation.isIdentity {
      parts.append("augment \(configuration.augmentation)")
    }
    if configuration.learningRateSchedule != .constant {
      parts.append("lr-schedule \(configuration.learningRateSchedule)")
    }
    if let patience = configuration.earlyStoppingPatience {
      parts.append("early stopping \(patience)")
    }
    if configuration.weightDecay > 0 { parts.append("weight decay \(configuration.weightDecay)") }
    if configuration.saveBest { parts.append("save best") }
    return parts.map { "; " + $0 }.joined()
  }

  /// What early stopping and --save-best did, one line each.
  private func sayBestEpoch(_ trainer: Trainer) {
    guard let best = trainer.bestEpoch,
      let loss = trainer.history[best - 1].validationLoss
    else { return }
    let lowest = "val_loss \(TextFormat.fixed(loss, 4))"
    if trainer.configuration.earlyStoppingPatience != nil {
      let how =
        trainer.stoppedEarly
        ? "stopped early after epoch \(trainer.epochsCompleted): " : ""
      if best != trainer.epochsCompleted {
        Terminal.say("\(how)restored the weights of epoch \(best), the lowest \(lowest)")
      } else if !how.isEmpty {
        Terminal.say(how + "epoch \(best) has the lowest \(lowest)")
      }
    }
    if trainer.configuration.saveBest {
      Terminal.say("wrote \(bestModelPath) (epoch \(best), \(lowest))")
    }
  }
}
