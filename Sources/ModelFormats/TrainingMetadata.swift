import Engine
import Tensors

/// The metrics of one finished training epoch: one row of the history CSV.
public struct EpochRecord: Equatable, Sendable {
  /// 1-based, as Keras prints it.
  public var epoch: Int
  public var loss: Double
  public var accuracy: Double
  /// nil when training had no validation split.
  public var validationLoss: Double?
  public var validationAccuracy: Double?
  /// Wall-clock time of the epoch including validation; nil once read back
  /// from a model file, which leaves times out so that equal seeds give
  /// bit-identical files.
  public var seconds: Double?
  /// The learning rate the epoch trained with; nil once read back from a
  /// model file (the schedule recomputes it, see Training's
  /// `Trainer.historyWithLearningRates`).
  public var learningRate: Float?

  public init(
    epoch: Int, loss: Double, accuracy: Double, validationLoss: Double? = nil,
    validationAccuracy: Double? = nil, seconds: Double? = nil, learningRate: Float? = nil
  ) {
    self.learningRate = learningRate
    self.epoch = epoch
    self.loss = loss
    self.accuracy = accuracy
    self.validationLoss = validationLoss
    self.validationAccuracy = validationAccuracy
    self.seconds = seconds
  }

  /// `epoch,loss,accuracy,val_loss,val_accuracy,seconds,learning_rate`,
  /// Keras's CSVLogger names.
  public static let csvHeader = "epoch,loss,accuracy,val_loss,val_accuracy,seconds,learning_rate"

  /// A whole history as CSV text: the header, then one row per epoch.
  public static func csv(_ records: [EpochRecord]) -> String {
    ([csvHeader] + records.map(\.csvRow)).joined(separator: "\n") + "\n"
  }

  /// One CSV row; missing validation metrics (and times and rates read
  /// back from a model file) are empty fields.
  public var csvRow: String {
    func field(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
    return "\(epoch),\(loss),\(accuracy),\(field(validationLoss)),"
      + "\(field(validationAccuracy)),\(field(seconds)),"
      + (learningRate.map { "\($0)" } ?? "")
  }
}

/// What a model file records about how its weights were trained.
public struct TrainingMetadata: Equatable, Sendable {
  /// Free text naming the data, e.g. "mnist" or a folder path.
  public var dataset: String
  /// Label of each output class, index = class number; may be empty.
  public var classNames: [String]
  public var seed: UInt64
  public var epochsCompleted: Int
  public var batchSize: Int
  public var validationSplit: Double
  public var optimizer: OptimizerConfiguration
  public var history: [EpochRecord]
  /// How inputs of another size were brought to the model's input in
  /// training; later commands apply the same unless told otherwise. Files
  /// written before convviz recorded it read as `.fill`, the default.
  public var resize: ResizeMode
  /// The training augmentation in its text form (`flip,shift=0.1`; see
  /// Training's `Augmentation`); empty when there was none.
  public var augmentation: String
  /// The learning-rate schedule in its text form (`step:10:0.5`,
  /// `cosine:20`, `plateau:10:0.1`; see Training's
  /// `LearningRateSchedule`); empty for a constant rate.
  public var learningRateSchedule: String
  /// Epochs without a lower validation loss after which training stops;
  /// 0 when early stopping is off.
  public var earlyStoppingPatience: Int
  /// Whether the best-validation model is written beside the model file.
  public var saveBest: Bool
  /// A second set of weights a checkpoint must keep to resume exactly
  /// (early stopping's best epoch, or the last epoch's after a restore).
  public var keptWeights: KeptWeights?
  /// Decoupled weight decay (`--weight-decay`); 0 for none.
  public var weightDecay: Float

  public init(
    dataset: String = "", classNames: [String] = [], seed: UInt64 = 0, epochsCompleted: Int = 0,
    batchSize: Int = 0, validationSplit: Double = 0,
    optimizer: OptimizerConfiguration = .defaults(for: .adadelta), history: [EpochRecord] = [],
    resize: ResizeMode = .fill, augmentation: String = "", learningRateSchedule: String = "",
    earlyStoppingPatience: Int = 0, saveBest: Bool = false, keptWeights: KeptWeights? = nil,
    weightDecay: Float = 0
  ) {
    self.dataset = dataset
    self.classNames = classNames
    self.seed = seed
    self.epochsCompleted = epochsCompleted
    self.batchSize = batchSize
    self.validationSplit = validationSplit
    self.optimizer = optimizer
    self.history = history
    self.resize = resize
    self.augmentation = augmentation
    self.learningRateSchedule = learningRateSchedule
    self.earlyStoppingPatience = earlyStoppingPatience
    self.saveBest = saveBest
    self.keptWeights = keptWeights
    self.weightDecay = weightDecay
  }
}

extension TrainingMetadata {
  /// Whether anything of the training-options section differs from its
  /// default, so that the section must be written.
  var hasTrainingOptions: Bool {
    !augmentation.isEmpty || !learningRateSchedule.isEmpty || earlyStoppingPatience != 0
      || saveBest || keptWeights != nil
  }
}

/// Weights a checkpoint keeps besides its model's own, one tensor per
/// parameter (same names and shapes).
public struct KeptWeights: Equatable, Sendable {
  public enum Role: UInt8, Sendable {
    /// The best validation epoch's weights; the model's are the last epoch's.
    case best = 1
    /// The last epoch's weights; the model's are the best epoch's, restored
    /// when training ended (early stopping).
    case last = 2
  }

  public var role: Role
  public var tensors: [NamedTensor]

  public init(role: Role, tensors: [NamedTensor]) {
    self.role = role
    self.tensors = tensors
  }
}

/// A tensor with its Keras-style name, e.g. `conv2d/kernel`.
public struct NamedTensor: Equatable, Sendable {
  public var name: String
  public var tensor: Tensor

  public init(name: String, tensor: Tensor) {
    self.name = name
    self.tensor = tensor
  }

  /// The only dtype model files use today.
  static let float32Code: UInt8 = 1
}

/// The state of a seeded random generator, by role (e.g. "shuffle",
/// "dropout"), as opaque 64-bit words.
public struct GeneratorState: Equatable, Sendable {
  public var name: String
  public var words: [UInt64]

  public init(name: String, words: [UInt64]) {
    self.name = name
    self.words = words
  }
}

/// What a checkpoint adds to a model so training can resume exactly.
public struct CheckpointState: Equatable, Sendable {
  public var optimizer: OptimizerState
  public var generators: [GeneratorState]

  public init(optimizer: OptimizerState, generators: [GeneratorState]) {
    self.optimizer = optimizer
    self.generators = generators
  }
}
