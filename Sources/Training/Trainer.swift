import Datasets
import Engine
import ModelFormats
import Tensors

/// How `Trainer.fit` runs: Keras's `fit` arguments.
public struct TrainingConfiguration: Equatable, Sendable {
  /// Total epochs; a resumed trainer continues up to this count.
  public var epochs: Int
  public var batchSize: Int
  /// The last fraction of the data, taken before any shuffling, is held
  /// out for validation (Keras's `validation_split`).
  public var validationSplit: Double
  /// Reshuffles the training samples every epoch with the seeded generator.
  public var shuffle: Bool
  /// Fixes weight initialisation, shuffling, dropout masks and augmentation.
  public var seed: UInt64
  /// Random changes to each training batch (none by default).
  public var augmentation: Augmentation
  /// How the learning rate changes between epochs (constant by default).
  public var learningRateSchedule: LearningRateSchedule
  /// Stop after this many epochs without a lower validation loss and
  /// restore the best epoch's weights (Keras's `EarlyStopping`); nil: off.
  public var earlyStoppingPatience: Int?
  /// Write the model of every epoch that lowers the validation loss to
  /// `fit`'s `bestModelPath` (Keras's `ModelCheckpoint(save_best_only=True)`).
  public var saveBest: Bool

  public init(
    epochs: Int = 1, batchSize: Int = 32, validationSplit: Double = 0, shuffle: Bool = true,
    seed: UInt64 = 0, augmentation: Augmentation = Augmentation(),
    learningRateSchedule: LearningRateSchedule = .constant, earlyStoppingPatience: Int? = nil,
    saveBest: Bool = false
  ) {
    precondition(epochs >= 0, "epochs must not be negative")
    precondition(batchSize >= 1, "batch size must be at least 1")
    precondition(validationSplit >= 0 && validationSplit < 1, "validation split must be in [0, 1)")
    precondition((earlyStoppingPatience ?? 1) >= 1, "early-stopping patience must be at least 1")
    self.epochs = epochs
    self.batchSize = batchSize
    self.validationSplit = validationSplit
    self.shuffle = shuffle
    self.seed = seed
    self.augmentation = augmentation
    self.learningRateSchedule = learningRateSchedule
    self.earlyStoppingPatience = earlyStoppingPatience
    self.saveBest = saveBest
  }
}

/// What `fit` reports while it runs, so a CLI can draw progress.
public enum TrainingProgress: Sendable {
  /// `epoch` is 1-based; `batches` batches of at most `batchSize` follow.
  case epochStarted(epoch: Int, epochs: Int, batches: Int, samples: Int)
  /// Running mean loss and accuracy over the epoch's batches so far.
  case batchFinished(epoch: Int, batch: Int, batches: Int, loss: Double, accuracy: Double)
  /// The epoch's metrics, after validation and after its checkpoint is saved.
  case epochFinished(EpochRecord)
}

/// Trains a `Sequential` model built from a `ModelSpec` with mini-batch
/// gradient descent, the way Keras's `fit` does, reproducibly.
///
/// The seed drives one `SeededGenerator`: weights are drawn from it first,
/// then the shuffle generator and each dropout layer's generator are split
/// off it, and last the augmentation generator, so that turning
/// augmentation on changes neither the shuffle order nor the dropout masks. With the same seed, data and machine, the resulting model file is
/// bit-identical (the engine reduces gradients in a fixed order). At the end
/// of every epoch `fit` can write a checkpoint (weights, optimizer state,
/// generator states, history) atomically; `Trainer(resuming:)` continues
/// from it exactly as if never interrupted.
public struct Trainer: Sendable {
  public let spec: ModelSpec
  public internal(set) var model: Sequential
  public internal(set) var optimizer: any Optimizer
  public var configuration: TrainingConfiguration
  /// Recorded in model files.
  public var dataset: String
  /// Recorded in model files; `fit` takes the data's names when empty, and
  /// refuses data whose names differ.
  public var classNames: [String]
  /// Recorded in model files: how the data's images were resized.
  public var resize: ResizeMode
  /// One record per completed epoch.
  public private(set) var history: [EpochRecord]
  private var shuffleGenerator: SeededGenerator
  /// Draws the augmentation of every batch; saved in checkpoints only when
  /// augmentation is on, so files of runs without it are unchanged.
  private var augmentationGenerator: SeededGenerator
  /// The optimizer's configured rate, which the schedule scales and model
  /// files record.
  public let baseLearningRate: Float
  /// With early stopping: the best epoch's weights while the model holds
  /// later ones.
  var bestWeights: [Tensor]?
  /// After early stopping restored the best weights at the end of `fit`:
  /// the last epoch's, from which a further `fit` continues.
  var lastWeights: [Tensor]?

  public var epochsCompleted: Int { history.count }

  /// A fresh model initialised from the seed. Throws when the optimizer's
  /// hyper-parameters are not finite or out of range.
  public init(
    spec: ModelSpec, optimizer: OptimizerConfiguration, configuration: TrainingConfiguration,
    dataset: String = "", classNames: [String] = [], resize: ResizeMode = .fill
  ) throws(TrainerError) {
    if let problem = optimizer.problem { throw .invalidOptimizer(reason: problem) }
    var configuration = configuration
    configuration.learningRateSchedule = configuration.learningRateSchedule.fixingPeriod(
      configuration.epochs)
    try Self.checkValidation(configuration)
    var generator = SeededGenerator(seed: configuration.seed)
    self.spec = spec
    self.model = spec.makeModel(generator: &generator)
    self.shuffleGenerator = generator.split()
    self.augmentationGenerator = generator.split()
    self.optimizer = optimizer.makeOptimizer()
    self.baseLearningRate = optimizer.learningRate
    self.configuration = configuration
    self.dataset = dataset
    self.classNames = classNames
    self.resize = resize
    self.history = []
  }

  /// Continues training from a checkpoint written by `fit`. The
  /// configuration (batch size, split, seed) is the checkpoint's; set
  /// `configuration.epochs` to the total wanted.
  public init(resuming file: ModelFile, path: String) throws(TrainerError) {
    guard let checkpoint = file.checkpoint else { throw .notACheckpoint(path: path) }
    let metadata = file.metadata
    guard metadata.batchSize >= 1, metadata.validationSplit >= 0, metadata.validationSplit < 1,
      metadata.history.count == metadata.epochsCompleted
    else {
      throw .checkpointMismatch(path: path, reason: "inconsistent training metadata")
    }
    spec = file.spec
    model = spec.makeModel(parameters: file.parameters, seed: metadata.seed)
    optimizer = metadata.optimizer.makeOptimizer()
    baseLearningRate = metadata.optimizer.learningRate
    do {
      try optimizer.restore(checkpoint.optimizer)
    } catch {
      throw .checkpointMismatch(path: path, reason: error.description)
    }
    let generators = Dictionary(
      checkpoint.generators.map { ($0.name, $0.words) }, uniquingKeysWith: { first, _ in first })
    guard let words = generators[Self.shuffleGeneratorName],
      let shuffle = SeededGenerator(state: words)
    else {
      throw .checkpointMismatch(path: path, reason: "no valid shuffle generator state")
    }
    shuffleGenerator = shuffle
    let augmentation: Augmentation
    do {
      augmentation =
        metadata.augmentation.isEmpty
        ? Augmentation() : try Augmentation(parsing: metadata.augmentation)
    } catch {
      throw .checkpointMismatch(path: path, reason: error.description)
    }
    if augmentation.isIdentity {
      augmentationGenerator = SeededGenerator(seed: metadata.seed)
    } else {
      guard let words = generators[Self.augmentationGeneratorName],
        let generator = SeededGenerator(state: words)
      else {
        throw .checkpointMismatch(path: path, reason: "no valid augmentation generator state")
      }
      augmentationGenerator = generator
    }
    var layerStates = model.generatorStates
    for i in layerStates.indices where layerStates[i] != nil {
      guard let words = generators[Self.layerGeneratorName(i)], SeededGenerator(state: words) != nil
      else {
        throw .checkpointMismatch(path: path, reason: "no valid generator state for layer \(i)")
      }
      layerStates[i] = words
    }
    model.generatorStates = layerStates
    let schedule: LearningRateSchedule
    do {
      schedule =
        metadata.learningRateSchedule.isEmpty
        ? .constant : try LearningRateSchedule(parsing: metadata.learningRateSchedule)
    } catch {
      throw .checkpointMismatch(path: path, reason: error.description)
    }
    configuration = TrainingConfiguration(
      epochs: metadata.epochsCompleted, batchSize: metadata.batchSize,
      validationSplit: metadata.validationSplit, seed: metadata.seed,
      augmentation: augmentation,
      learningRateSchedule: schedule.fixingPeriod(metadata.epochsCompleted),
      earlyStoppingPatience: metadata.earlyStoppingPatience == 0
        ? nil : metadata.earlyStoppingPatience, saveBest: metadata.saveBest)
    dataset = metadata.dataset
    classNames = metadata.classNames
    resize = metadata.resize
    history = metadata.history
    try restoreKeptWeights(metadata.keptWeights, path: path)
  }

  /// Reads a checkpoint and continues from it (see `init(resuming:path:)`).
  public static func resume(from path: String) throws(TrainerError) -> Trainer {
    let file: ModelFile
    do {
      file = try ModelFile.read(from: path)
    } catch {
      throw .modelFile(error)
    }
    return try Trainer(resuming: file, path: path)
  }

  static let shuffleGeneratorName = "shuffle"
  static let augmentationGeneratorName = "augmentation"
  static func layerGeneratorName(_ index: Int) -> String { "layer/\(index)" }

  /// Trains from `epochsCompleted` up to `configuration.epochs` and returns
  /// the new epochs' records.
  ///
  /// Everything about the data is checked first (shapes, class count and
  /// names, labels). Each epoch visits the training part in a fresh seeded
  /// permutation (or in order when `shuffle` is off) in batches of
  /// `batchSize`, the last one smaller, then evaluates the validation part in
  /// inference mode. With `checkpointPath`, a checkpoint is written
  /// atomically after each epoch, before `.epochFinished` is reported.
  ///
  /// Training that diverges (a loss, weight or validation loss that is not
  /// finite) stops with `diverged`; the checkpoint of the last good epoch
  /// stays as it was.
  ///
  /// With a learning-rate schedule, each epoch starts by setting the rate.
  /// With early stopping, training ends after `earlyStoppingPatience`
  /// epochs without a lower validation loss, and when it ends (stopped or
  /// not) the model holds the best epoch's weights; the checkpoint keeps the
  /// last epoch's too, so that a later `fit` continues from them. With
  /// `saveBest` and `bestModelPath`, every epoch that lowers the validation
  /// loss writes the model there (no checkpoint section).
  @discardableResult
  public mutating func fit(
    _ data: Dataset, checkpointPath: String? = nil, bestModelPath: String? = nil,
    progress: (TrainingProgress) -> Void = { _ in }
  ) throws(TrainerError) -> [EpochRecord] {
    let classCount = try data.check(for: spec)
    if classNames.isEmpty {
      classNames = data.classNames
    } else if !data.classNames.isEmpty && data.classNames != classNames {
      throw .classNamesMismatch(model: classNames, data: data.classNames)
    }
    // Batches are gathered from `data` by index rather than from split
    // copies, so training holds the data set in memory only once.
    let trainingCount = ValidationSplit.trainingCount(
      samples: data.count, fraction: configuration.validationSplit)
    let validation = trainingCount..<data.count
    guard trainingCount > 0 else {
      throw .noTrainingData(samples: data.count, validationSplit: configuration.validationSplit)
    }
    try Self.checkValidation(configuration)
    let batchSize = configuration.batchSize
    let batches = (trainingCount + batchSize - 1) / batchSize
    let clock = ContinuousClock()
    var records: [EpochRecord] = []
    if epochsCompleted < configuration.epochs && !stoppedEarly { resumeFromLastWeights() }
    while epochsCompleted < configuration.epochs && !stoppedEarly {
      let epoch = epochsCompleted + 1
      let start = clock.now
      prepareEpoch(epoch)
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
        var (images, labels) = data.batch(indices)
        configuration.augmentation.apply(to: &images, using: &augmentationGenerator)
        let loss: Float
        let output: Tensor
        do {
          (loss, output) = try model.trainingStep(input: images, labels: labels)
        } catch {
          throw .engine(error)
        }
        guard loss.isFinite else {
          throw divergence(
            "the loss became \(loss)", epoch: epoch, batch: batch + 1, of: batches,
            checkpointPath: checkpointPath)
        }
        optimizer.step(&model)
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
      guard parametersAreFinite else {
        throw divergence(
          "the weights stopped being finite", epoch: epoch, batch: nil, of: batches,
          checkpointPath: checkpointPath)
      }
      var record = EpochRecord(
        epoch: epoch, loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen))
      if !validation.isEmpty {
        let metrics = try model.evaluation(
          on: data, samples: validation, classCount: classCount, batchSize: max(batchSize, 100))
        record.validationLoss = metrics.loss
        record.validationAccuracy = metrics.accuracy
      }
      let elapsed = clock.now - start
      record.seconds =
        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
      history.append(record)
      records.append(record)
      let improved = bestEpoch == epoch
      if epochsCompleted == configuration.epochs || stoppedEarly { restoreBestWeights() }
      if let checkpointPath {
        do {
          try modelFile(checkpoint: true).write(to: checkpointPath)
        } catch {
          throw .modelFile(error)
        }
      }
      if improved && configuration.saveBest, let bestModelPath {
        do {
          try modelFile().write(to: bestModelPath)
        } catch {
          throw .modelFile(error)
        }
      }
      progress(.epochFinished(record))
    }
    return records
  }

  private var parametersAreFinite: Bool {
    var copy = model
    var finite = true
    copy.forEachParameter { parameter in
      if finite && !parameter.value.storage.allSatisfy(\.isFinite) { finite = false }
    }
    return finite
  }

  private func divergence(
    _ what: String, epoch: Int, batch: Int?, of batches: Int, checkpointPath: String?
  ) -> TrainerError {
    .diverged(
      what, epoch: epoch, batch: batch, batches: batches, checkpoint: checkpointPath,
      keptEpoch: epochsCompleted)
  }

  /// The current model's loss, accuracy and confusion matrix on `data`
  /// (a test split, say), in inference mode.
  public mutating func evaluate(
    _ data: Dataset, batchSize: Int = 100
  ) throws(TrainerError) -> Evaluation {
    try model.evaluation(on: data, spec: spec, batchSize: batchSize)
  }

  /// The model as a file: the weights and training metadata, plus with
  /// `checkpoint` the optimizer and generator states needed to resume.
  public func modelFile(checkpoint: Bool = false) -> ModelFile {
    let metadata = TrainingMetadata(
      dataset: dataset, classNames: classNames, seed: configuration.seed,
      epochsCompleted: epochsCompleted, batchSize: configuration.batchSize,
      validationSplit: configuration.validationSplit,
      optimizer: optimizer.configuration.withLearningRate(baseLearningRate),
      history: history, resize: resize, augmentation: augmentationText,
      learningRateSchedule: configuration.learningRateSchedule == .constant
        ? "" : configuration.learningRateSchedule.description,
      earlyStoppingPatience: configuration.earlyStoppingPatience ?? 0,
      saveBest: configuration.saveBest, keptWeights: checkpoint ? keptWeights : nil)
    var state: CheckpointState?
    if checkpoint {
      var generators = [
        GeneratorState(name: Self.shuffleGeneratorName, words: shuffleGenerator.state)
      ]
      if !configuration.augmentation.isIdentity {
        generators.append(
          GeneratorState(
            name: Self.augmentationGeneratorName, words: augmentationGenerator.state))
      }
      for (i, words) in model.generatorStates.enumerated() {
        if let words {
          generators.append(GeneratorState(name: Self.layerGeneratorName(i), words: words))
        }
      }
      state = CheckpointState(optimizer: optimizer.state, generators: generators)
    }
    return ModelFile(
      spec: spec, metadata: metadata, parameters: model.namedParameters(spec), checkpoint: state)
  }

  /// The augmentation as model files record it: empty when off.
  private var augmentationText: String {
    configuration.augmentation.isIdentity ? "" : configuration.augmentation.description
  }
}
