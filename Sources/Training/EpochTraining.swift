import Datasets
import Engine
import ModelFormats
import Tensors

/// A trainer that `runEpochs` drives: the epoch loop `Trainer` and
/// `TransferTrainer` share.
///
/// The loop visits the training part of the data in a fresh seeded
/// permutation each epoch (or in order when `shuffle` is off), in batches
/// of `batchSize`, the last one smaller; it keeps the running loss and
/// accuracy, stops with `diverged` on a loss or weight that is not finite,
/// validates, times and records the epoch and reports progress. The
/// trainer supplies what differs: what starts an epoch, one batch's step
/// and the validation pass.
protocol EpochTraining {
  var configuration: TrainingConfiguration { get }
  /// The optimizer's configured rate, which the schedule scales.
  var baseLearningRate: Float { get }
  /// One record per completed epoch; the loop appends to it.
  var history: [EpochRecord] { get set }
  var shuffleGenerator: SeededGenerator { get set }
  /// Every weight being trained, for the divergence check.
  var network: Network { get }
  /// Whether early stopping has ended training before `configuration.epochs`.
  var stoppedEarly: Bool { get }

  /// Readies epoch `epoch` (1-based) of training on `data` before its
  /// first batch: sets the learning rate, at least.
  mutating func startEpoch(
    _ epoch: Int, data: Dataset, progress: (TrainingProgress) -> Void
  ) throws(TrainerError)

  /// One optimizer step on the samples at `indices` of `data`, returning
  /// the batch's mean loss, the network's output and the labels. A step
  /// whose loss is not finite need not be applied: the loop stops then.
  mutating func trainBatch(
    _ data: Dataset, _ indices: ArraySlice<Int>, epoch: Int
  ) throws(TrainerError) -> (loss: Float, output: Tensor, labels: [Int])

  /// The loss and accuracy of `samples` of `data` in inference mode, at
  /// the end of epoch `epoch`.
  mutating func validate(
    _ data: Dataset, _ samples: Range<Int>, epoch: Int, classCount: Int, batchSize: Int
  ) throws(TrainerError) -> Evaluation
}

extension EpochTraining {
  /// The learning rate epoch `epoch` (1-based) trains with.
  func learningRate(epoch: Int) -> Float {
    configuration.learningRateSchedule.learningRate(
      epoch: epoch, base: baseLearningRate, history: history)
  }

  /// How many samples of `data` are trained on (Keras's
  /// `validation_split`: the rest validate); throws when none are.
  func trainingCount(of data: Dataset) throws(TrainerError) -> Int {
    let count = ValidationSplit.trainingCount(
      samples: data.count, fraction: configuration.validationSplit)
    guard count > 0 else {
      throw .noTrainingData(samples: data.count, validationSplit: configuration.validationSplit)
    }
    return count
  }

  /// Trains from `history.count` up to `configuration.epochs` epochs (or
  /// until early stopping) on the first `trainingCount` samples of `data`,
  /// validating on the rest, and returns the new epochs' records.
  ///
  /// `afterEpoch` runs once the epoch is in `history` and before
  /// `.epochFinished` is reported (a checkpoint is written there);
  /// `checkpointPath` only names, in a divergence error, the checkpoint
  /// that still holds the last good epoch.
  mutating func runEpochs(
    _ data: Dataset, trainingCount: Int, classCount: Int, checkpointPath: String? = nil,
    progress: (TrainingProgress) -> Void,
    afterEpoch: (inout Self, EpochRecord) throws(TrainerError) -> Void = { _, _ in }
  ) throws(TrainerError) -> [EpochRecord] {
    // Batches are gathered from `data` by index rather than from split
    // copies, so training holds the data set in memory only once.
    let validation = trainingCount..<data.count
    let batchSize = configuration.batchSize
    let batches = (trainingCount + batchSize - 1) / batchSize
    let clock = ContinuousClock()
    var records: [EpochRecord] = []
    while history.count < configuration.epochs && !stoppedEarly {
      let epoch = history.count + 1
      let start = clock.now
      try startEpoch(epoch, data: data, progress: progress)
      progress(
        .epochStarted(
          epoch: epoch, epochs: configuration.epochs, batches: batches, samples: trainingCount))
      var order = Array(0..<trainingCount)
      if configuration.shuffle { order.seededShuffle(using: &shuffleGenerator) }
      var lossSum = 0.0
      var correct = 0
      var seen = 0
      for batch in 0..<batches {
        let indices = order[(batch * batchSize)..<min((batch + 1) * batchSize, order.count)]
        let (loss, output, labels) = try trainBatch(data, indices, epoch: epoch)
        guard loss.isFinite else {
          throw divergence(
            "the loss became \(loss)", epoch: epoch, batch: batch + 1, of: batches,
            checkpointPath: checkpointPath)
        }
        lossSum += Double(loss) * Double(labels.count)
        correct += zip(output.argmaxPerSample(), labels).filter { $0 == $1 }.count
        seen += labels.count
        progress(
          .batchFinished(
            epoch: epoch, batch: batch + 1, batches: batches, loss: lossSum / Double(seen),
            accuracy: Double(correct) / Double(seen)))
      }
      // A step can break weights without the loss showing it (ReLU maps
      // NaN to 0, and the last step has no later loss): checked once an epoch.
      guard network.parametersAreFinite else {
        throw divergence(
          "the weights stopped being finite", epoch: epoch, batch: nil, of: batches,
          checkpointPath: checkpointPath)
      }
      var record = EpochRecord(
        epoch: epoch, loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen))
      if !validation.isEmpty {
        let metrics = try validate(
          data, validation, epoch: epoch, classCount: classCount, batchSize: max(batchSize, 100))
        record.validationLoss = metrics.loss
        record.validationAccuracy = metrics.accuracy
      }
      let elapsed = clock.now - start
      record.seconds =
        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
      history.append(record)
      records.append(record)
      try afterEpoch(&self, record)
      progress(.epochFinished(record))
    }
    return records
  }

  private func divergence(
    _ what: String, epoch: Int, batch: Int?, of batches: Int, checkpointPath: String?
  ) -> TrainerError {
    .diverged(
      what, epoch: epoch, batch: batch, batches: batches, checkpoint: checkpointPath,
      keptEpoch: history.count)
  }
}
