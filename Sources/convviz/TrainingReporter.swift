import ModelFormats
import Training

/// How `train` shows a run's progress: on a terminal a bar per epoch (and
/// one while a transfer run computes the frozen features), and a line per
/// epoch, with the epoch's rate when the learning rate is scheduled.
struct TrainingReporter {
  private let epochs: Int
  private let schedule: LearningRateSchedule
  private let baseRate: Float
  /// The epochs so far, from which a scheduled rate is computed as the
  /// trainer computes it.
  private var records: [EpochRecord]
  private var bar: ProgressBar?
  private var featureBar: ProgressBar?

  init(configuration: TrainingConfiguration, baseRate: Float, history: [EpochRecord]) {
    epochs = configuration.epochs
    schedule = configuration.learningRateSchedule
    self.baseRate = baseRate
    records = history
  }

  mutating func report(_ event: TrainingProgress) {
    switch event {
    case .featuresComputed(let done, let samples):
      if featureBar == nil { featureBar = ProgressBar(label: "features", total: samples) }
      featureBar?.update(done: done)
    case .epochStarted(let epoch, let epochs, let batches, _):
      featureBar?.finish()
      featureBar = nil
      bar = ProgressBar(label: "epoch \(epoch)/\(epochs)", total: batches)
    case .batchFinished(_, let batch, _, let loss, let accuracy):
      bar?.update(
        done: batch,
        detail: "loss \(TextFormat.fixed(loss, 4))  accuracy \(TextFormat.fixed(accuracy, 4))")
    case .epochFinished(let record):
      bar?.finish()
      let rate =
        schedule == .constant
        ? nil : schedule.learningRate(epoch: record.epoch, base: baseRate, history: records)
      records.append(record)
      Terminal.say(Self.epochLine(record, epochs: epochs, learningRate: rate))
    }
  }

  /// `epoch 3/8  loss 0.0412  accuracy 0.9871  val_loss 0.0391  val_accuracy 0.9885  41.2s`
  ///
  /// With a learning-rate schedule, the epoch's rate follows: `lr 0.5`.
  static func epochLine(_ record: EpochRecord, epochs: Int, learningRate: Float? = nil) -> String {
    var line =
      "epoch \(record.epoch)/\(epochs)  loss \(TextFormat.fixed(record.loss, 4))  "
      + "accuracy \(TextFormat.fixed(record.accuracy, 4))"
    if let loss = record.validationLoss, let accuracy = record.validationAccuracy {
      line +=
        "  val_loss \(TextFormat.fixed(loss, 4))  val_accuracy "
        + TextFormat.fixed(accuracy, 4)
    }
    if let learningRate { line += "  lr \(learningRate)" }
    if let seconds = record.seconds { line += "  \(TextFormat.fixed(seconds, 1))s" }
    return line
  }
}
