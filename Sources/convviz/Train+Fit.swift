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
        + (trainer.configuration.augmentation.isIdentity
          ? "" : "; augment \(trainer.configuration.augmentation)"))
    try OutputPaths.makeParentFolder(of: output)
    try OutputPaths.makeParentFolder(of: historyPath)
    let picturePrefix = TrainingPictures.prefix(forModelAt: output)
    let snapshotFolder = picturePrefix + "-snapshots"
    if snapshotEvery != nil { try Folder.create(snapshotFolder) }

    var bar: ProgressBar?
    var snapshotError: (any Error)?
    try trainer.fit(splits.train, checkpointPath: output) { event in
      switch event {
      case .epochStarted(let epoch, let epochs, let batches, _):
        bar = ProgressBar(label: "epoch \(epoch)/\(epochs)", total: batches)
      case .batchFinished(_, let batch, _, let loss, let accuracy):
        bar?.update(
          done: batch,
          detail: "loss \(TextFormat.fixed(loss, 4))  accuracy \(TextFormat.fixed(accuracy, 4))")
      case .epochFinished(let record):
        bar?.finish()
        Terminal.say(Self.epochLine(record, epochs: epochs))
        if let every = snapshotEvery, record.epoch % every == 0, snapshotError == nil {
          do {
            let files = try writeTrainingSnapshot(
              model: ModelFile.read(from: output),
              probe: splits.train.images.samples(0..<1),
              epoch: record.epoch, folder: snapshotFolder)
            Terminal.say("wrote \(files.filters) and \(files.featureMaps)")
          } catch { snapshotError = error }
        }
      }
    }
    if let snapshotError { throw snapshotError }
    try AtomicFile.write(EpochRecord.csv(trainer.history), to: historyPath)
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

  /// `epoch 3/8  loss 0.0412  accuracy 0.9871  val_loss 0.0391  val_accuracy 0.9885  41.2s`
  static func epochLine(_ record: EpochRecord, epochs: Int) -> String {
    var line =
      "epoch \(record.epoch)/\(epochs)  loss \(TextFormat.fixed(record.loss, 4))  "
      + "accuracy \(TextFormat.fixed(record.accuracy, 4))"
    if let loss = record.validationLoss, let accuracy = record.validationAccuracy {
      line +=
        "  val_loss \(TextFormat.fixed(loss, 4))  val_accuracy "
        + TextFormat.fixed(accuracy, 4)
    }
    if let seconds = record.seconds { line += "  \(TextFormat.fixed(seconds, 1))s" }
    return line
  }
}
