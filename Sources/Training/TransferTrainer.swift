import Datasets
import Engine
import ModelFormats
import Tensors

/// What transfer learning adds to a training run's settings.
public struct TransferConfiguration: Equatable, Sendable {
  /// After this many epochs the backbone's Conv2D and Dense weights train
  /// too; nil keeps it frozen to the end.
  public var unfreezeAfter: Int?
  /// Once unfrozen, the backbone learns at the head's rate times this.
  public var fineTuneFactor: Float
  /// Whether the frozen backbone's features are computed once per sample
  /// and kept for every frozen epoch. Only without augmentation (which
  /// changes the images every batch); off, they are computed per batch.
  public var cachesFeatures: Bool

  /// The backbone's learning-rate factor after unfreezing unless told.
  public static let defaultFineTuneFactor: Float = 0.1

  public init(
    unfreezeAfter: Int? = nil, fineTuneFactor: Float = Self.defaultFineTuneFactor,
    cachesFeatures: Bool = true
  ) {
    precondition((unfreezeAfter ?? 0) >= 0, "unfreezeAfter must not be negative")
    precondition(fineTuneFactor.isFinite && fineTuneFactor > 0, "fine-tune factor must be > 0")
    self.unfreezeAfter = unfreezeAfter
    self.fineTuneFactor = fineTuneFactor
    self.cachesFeatures = cachesFeatures
  }
}

/// Trains a new classifier head on a frozen backbone (Keras's transfer
/// learning with `base_model.trainable = False`), then optionally
/// fine-tunes both.
///
/// The backbone is a graph that ends at the chosen node, run in inference
/// mode (dropout off, batch normalisation folded into its convolution)
/// while frozen. Without augmentation its features are computed once per
/// sample and each frozen epoch trains the head alone on them, exactly as a
/// `Trainer` of the head spec would train on those features: the seed
/// draws the head's Glorot-uniform weights, then the shuffle and
/// augmentation generators, in `Trainer`'s order, and the loop is
/// `Trainer.fit`'s.
///
/// After `unfreezeAfter` epochs the two become one network trained end to
/// end: the head keeps its optimizer, the backbone's Conv2D and Dense
/// weights get a fresh one of the same kind at `fineTuneFactor` times the
/// rate (batch-normalisation statistics and constant operands stay as
/// they are), and the backbone's dropout is active as in any training.
public struct TransferTrainer: EpochTraining, Sendable {
  public let head: ModelSpec
  public let configuration: TrainingConfiguration
  public let transfer: TransferConfiguration
  /// The frozen part; its weights change only after unfreezing.
  public private(set) var backbone: Network
  /// The head alone, reading the backbone's features.
  public private(set) var headNetwork: Network
  /// One record per completed epoch.
  public internal(set) var history: [EpochRecord] = []
  /// The backbone and head as one network, from the first unfrozen epoch on.
  var combined: Network?
  var optimizer: any Optimizer
  var backboneOptimizer: (any Optimizer)?
  let optimizerConfiguration: OptimizerConfiguration
  public let baseLearningRate: Float
  var shuffleGenerator: SeededGenerator
  var augmentationGenerator: SeededGenerator
  /// The frozen features of every sample, once computed.
  var features: Dataset?

  public var epochsCompleted: Int { history.count }

  /// A head for `backbone`'s output initialised from `configuration.seed`.
  /// `backbone` is the graph up to the chosen node (its output);
  /// `head.input` must be that node's per-sample shape. Early stopping and
  /// saving the best epoch are not part of transfer runs.
  public init(
    backbone: Graph, head: ModelSpec, optimizer: OptimizerConfiguration,
    configuration: TrainingConfiguration, transfer: TransferConfiguration = .init()
  ) throws(TrainerError) {
    if let problem = optimizer.problem { throw .invalidOptimizer(reason: problem) }
    precondition(
      configuration.earlyStoppingPatience == nil && !configuration.saveBest,
      "transfer runs have no early stopping or best model")
    precondition(
      head.input.tensorShape == backbone.tensorShapes.last,
      "the head must read the backbone's output")
    var configuration = configuration
    configuration.learningRateSchedule = configuration.learningRateSchedule.fixingPeriod(
      configuration.epochs)
    try Trainer.checkValidation(configuration)
    do {
      self.backbone = Network(try backbone.foldingBatchNormalizations())
    } catch {
      throw .engine(error)
    }
    var generator = SeededGenerator(seed: configuration.seed)
    self.head = head
    headNetwork = head.makeModel(generator: &generator)
    shuffleGenerator = generator.split()
    augmentationGenerator = generator.split()
    self.optimizer = optimizer.makeOptimizer()
    optimizerConfiguration = optimizer
    baseLearningRate = optimizer.learningRate
    self.configuration = configuration
    self.transfer = transfer
  }

  /// The backbone's input per sample.
  public var input: FeatureShape { FeatureShape(backbone.inputShape) }

  /// Whether epoch `epoch` (1-based) trains the head alone.
  public func isFrozen(epoch: Int) -> Bool {
    transfer.unfreezeAfter.map { epoch <= $0 } ?? true
  }

  /// Trains from `epochsCompleted` up to `configuration.epochs` on `data`
  /// (images the backbone takes, labels below the head's classes) and
  /// returns the new epochs' records; see `Trainer.fit` for batches,
  /// validation and divergence. With `cachesFeatures` and no augmentation,
  /// the first frozen epoch first computes every sample's features
  /// (`progress` hears `featuresComputed` after each batch of them).
  @discardableResult
  public mutating func fit(
    _ data: Dataset, progress: (TrainingProgress) -> Void = { _ in }
  ) throws(TrainerError) -> [EpochRecord] {
    let classCount = try data.check(
      input: input, classCount: head.classCount, output: head.outputShape)
    return try runEpochs(
      data, trainingCount: try trainingCount(of: data), classCount: classCount,
      progress: progress)
  }

  /// Joins the networks at the first unfrozen epoch, sets the learning
  /// rates (the head's by the schedule, the backbone's that times
  /// `fineTuneFactor`) and computes the features to cache.
  mutating func startEpoch(
    _ epoch: Int, data: Dataset, progress: (TrainingProgress) -> Void
  ) throws(TrainerError) {
    let frozen = isFrozen(epoch: epoch)
    if !frozen && combined == nil { try unfreeze() }
    let rate = learningRate(epoch: epoch)
    optimizer.learningRate = rate
    if var fineTuning = backboneOptimizer {
      fineTuning.learningRate = rate * transfer.fineTuneFactor
      backboneOptimizer = fineTuning
    }
    if frozen && transfer.cachesFeatures && configuration.augmentation.isIdentity
      && features == nil
    {
      features = try computeFeatures(of: data, samples: 0..<data.count) { done, samples in
        progress(.featuresComputed(samplesDone: done, samples: samples))
      }
    }
  }

  /// Transfer runs have no early stopping.
  var stoppedEarly: Bool { false }

  /// One training step on the samples at `indices`: of the head alone
  /// on the backbone's features while frozen, else of the joined network.
  mutating func trainBatch(
    _ data: Dataset, _ indices: ArraySlice<Int>, epoch: Int
  ) throws(TrainerError) -> (loss: Float, output: Tensor, labels: [Int]) {
    let frozen = isFrozen(epoch: epoch)
    do {
      if frozen, let features {
        let (input, labels) = features.batch(indices)
        let (loss, output) = try headNetwork.trainingStep(input: input, labels: labels)
        optimizer.step(&headNetwork, weightDecay: configuration.weightDecay)
        return (loss, output, labels)
      }
      var (images, labels) = data.batch(indices)
      configuration.augmentation.apply(to: &images, using: &augmentationGenerator)
      if frozen {
        let input = try backbone.forward(images, mode: .inference)
        let (loss, output) = try headNetwork.trainingStep(input: input, labels: labels)
        optimizer.step(&headNetwork, weightDecay: configuration.weightDecay)
        return (loss, output, labels)
      }
      guard var model = combined else { preconditionFailure("unfrozen without a network") }
      combined = nil
      let (loss, output) = try model.trainingStep(input: images, labels: labels)
      stepUnfrozen(&model)
      combined = model
      return (loss, output, labels)
    } catch {
      throw .engine(error)
    }
  }

  /// The validation part's loss and accuracy: through the head on the
  /// frozen features (those of the cache, or computed now), or through
  /// the whole network once unfrozen.
  mutating func validate(
    _ data: Dataset, _ samples: Range<Int>, epoch: Int, classCount: Int, batchSize: Int
  ) throws(TrainerError) -> Evaluation {
    guard isFrozen(epoch: epoch) else {
      guard var model = combined else { preconditionFailure("unfrozen without a network") }
      combined = nil
      defer { combined = model }
      return try model.evaluation(
        on: data, samples: samples, classCount: classCount, batchSize: batchSize)
    }
    if let features {
      return try headNetwork.evaluation(
        on: features, samples: samples, classCount: classCount, batchSize: batchSize)
    }
    let part = try computeFeatures(of: data, samples: samples)
    return try headNetwork.evaluation(on: part, classCount: classCount, batchSize: batchSize)
  }

  /// The backbone's inference output for `samples` of `data`, 100 at a
  /// time, as a data set with the same labels and class names.
  public mutating func computeFeatures(
    of data: Dataset, samples: Range<Int>,
    report: (_ samplesDone: Int, _ samples: Int) -> Void = { _, _ in }
  ) throws(TrainerError) -> Dataset {
    let shape = backbone.outputShape
    var storage: [Float] = []
    storage.reserveCapacity(samples.count * shape.count)
    for start in stride(from: samples.lowerBound, to: samples.upperBound, by: 100) {
      let (images, _) = data.batch(start..<min(start + 100, samples.upperBound))
      do {
        storage += try backbone.forward(images, mode: .inference).storage
      } catch {
        throw .engine(error)
      }
      report(min(start + 100, samples.upperBound) - samples.lowerBound, samples.count)
    }
    return Dataset(
      features: Tensor(shape: Shape([samples.count] + shape.dims), storage: storage),
      labels: Array(data.labels[samples]), classNames: data.classNames)
  }
}
