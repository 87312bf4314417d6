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
  /// Decoupled weight decay before every step (Keras 3's `weight_decay`,
  /// see `Optimizer.step(weightDecay:_:)`); 0 for none.
  public var weightDecay: Float

  public init(
    epochs: Int = 1, batchSize: Int = 32, validationSplit: Double = 0, shuffle: Bool = true,
    seed: UInt64 = 0, augmentation: Augmentation = Augmentation(),
    learningRateSchedule: LearningRateSchedule = .constant, earlyStoppingPatience: Int? = nil,
    saveBest: Bool = false, weightDecay: Float = 0
  ) {
    precondition(epochs >= 0, "epochs must not be negative")
    precondition(batchSize >= 1, "batch size must be at least 1")
    precondition(validationSplit >= 0 && validationSplit < 1, "validation split must be in [0, 1)")
    precondition((earlyStoppingPatience ?? 1) >= 1, "early-stopping patience must be at least 1")
    precondition(weightDecay >= 0 && weightDecay.isFinite, "weight decay must be finite, ≥ 0")
    self.epochs = epochs
    self.batchSize = batchSize
    self.validationSplit = validationSplit
    self.shuffle = shuffle
    self.seed = seed
    self.augmentation = augmentation
    self.learningRateSchedule = learningRateSchedule
    self.earlyStoppingPatience = earlyStoppingPatience
    self.saveBest = saveBest
    self.weightDecay = weightDecay
  }
}

extension TrainingConfiguration {
  /// What a model file records of a run with these settings: the data,
  /// the optimizer (at its base rate) and the epochs so far.
  func metadata(
    dataset: String, classNames: [String], optimizer: OptimizerConfiguration,
    history: [EpochRecord], resize: ResizeMode, keptWeights: KeptWeights? = nil
  ) -> TrainingMetadata {
    TrainingMetadata(
      dataset: dataset, classNames: classNames, seed: seed, epochsCompleted: history.count,
      batchSize: batchSize, validationSplit: validationSplit, optimizer: optimizer,
      history: history, resize: resize,
      augmentation: augmentation.isIdentity ? "" : augmentation.description,
      learningRateSchedule: learningRateSchedule == .constant
        ? "" : learningRateSchedule.description,
      earlyStoppingPatience: earlyStoppingPatience ?? 0, saveBest: saveBest,
      keptWeights: keptWeights, weightDecay: weightDecay)
  }
}
