import Datasets
import Engine
import ModelFormats
import Tensors

/// What `fit` reports while it runs, so a CLI can draw progress.
public enum TrainingProgress: Sendable {
  /// `epoch` is 1-based; `batches` batches of at most `batchSize` follow.
  case epochStarted(epoch: Int, epochs: Int, batches: Int, samples: Int)
  /// Running mean loss and accuracy over the epoch's batches so far.
  case batchFinished(epoch: Int, batch: Int, batches: Int, loss: Double, accuracy: Double)
  /// The epoch's metrics, after validation and after its checkpoint is saved.
  case epochFinished(EpochRecord)
  /// Transfer training, before the first frozen epoch starts: the frozen
  /// backbone's features of `samplesDone` of `samples` samples are computed.
  case featuresComputed(samplesDone: Int, samples: Int)
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
public struct Trainer: EpochTraining, Sendable {
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
  public internal(set) var history: [EpochRecord]
  var shuffleGenerator: SeededGenerator
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
        ? nil : metadata.earlyStoppingPatience, saveBest: metadata.saveBest,
      weightDecay: metadata.weightDecay)
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
    let trainingCount = try trainingCount(of: data)
    try Self.checkValidation(configuration)
    if epochsCompleted < configuration.epochs && !stoppedEarly { resumeFromLastWeights() }
    return try runEpochs(
      data, trainingCount: trainingCount, classCount: classCount, checkpointPath: checkpointPath,
      progress: progress
    ) { trainer, record throws(TrainerError) in
      try trainer.finishEpoch(record, checkpointPath: checkpointPath, bestModelPath: bestModelPath)
    }
  }

  /// A step of the model on the batch at `indices`, augmented; not taken
  /// when the loss is not finite (`fit` stops there).
  mutating func trainBatch(
    _ data: Dataset, _ indices: ArraySlice<Int>, epoch: Int
  ) throws(TrainerError) -> (loss: Float, output: Tensor, labels: [Int]) {
    var (images, labels) = data.batch(indices)
    configuration.augmentation.apply(to: &images, using: &augmentationGenerator)
    let loss: Float
    let output: Tensor
    do {
      (loss, output) = try model.trainingStep(input: images, labels: labels)
    } catch {
      throw .engine(error)
    }
    if loss.isFinite { optimizer.step(&model, weightDecay: configuration.weightDecay) }
    return (loss, output, labels)
  }

  mutating func validate(
    _ data: Dataset, _ samples: Range<Int>, epoch: Int, classCount: Int, batchSize: Int
  ) throws(TrainerError) -> Evaluation {
    try model.evaluation(on: data, samples: samples, classCount: classCount, batchSize: batchSize)
  }

  /// The end of an epoch: the best weights back when training ends with
  /// early stopping, then the checkpoint and the best model written.
  private mutating func finishEpoch(
    _ record: EpochRecord, checkpointPath: String?, bestModelPath: String?
  ) throws(TrainerError) {
    let improved = bestEpoch == record.epoch
    if epochsCompleted == configuration.epochs || stoppedEarly { restoreBestWeights() }
    do {
      if let checkpointPath { try modelFile(checkpoint: true).write(to: checkpointPath) }
      if improved && configuration.saveBest, let bestModelPath {
        try modelFile().write(to: bestModelPath)
      }
    } catch {
      throw .modelFile(error)
    }
  }

  /// The network being trained.
  var network: Network { model }

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
    let metadata = configuration.metadata(
      dataset: dataset, classNames: classNames,
      optimizer: optimizer.configuration.withLearningRate(baseLearningRate), history: history,
      resize: resize, keptWeights: checkpoint ? keptWeights : nil)
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
}
