import ArgumentParser
import Engine
import Files
import ModelFormats
import Training
import Datasets
import Foundation
import Visualization

extension OptimizerKind: ExpressibleByArgument {}

/// `convviz train`: trains a model on a data set and writes model.bin, with a
/// checkpoint at the end of every epoch.
struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train a CNN on MNIST, CIFAR-10 or a folder of labelled images.",
    discussion: """
      The seed's MNIST run:
        convviz train --model mnist-cnn --data DIR --epochs 8 --batch-size 100 \\
          --validation-split 0.1 --optimizer adadelta --seed 0 -o output/model.bin

      Adadelta's default learning rate is 1.0, as in the Keras the seed used; Keras 3 \
      changed it to 0.001. The validation split is the last fraction of the training data \
      (image folders are shuffled with the seed first, so every class is in both parts).
      A preset takes the data's channels and sizes its last layer to the data's classes; \
      images of another size are resized (--resize, stored in the model).

      Beside the model go MODEL.csv (the history), MODEL-loss.png, MODEL-accuracy.png and \
      MODEL-confusion.png (MODEL: the output path without extension). An existing model is \
      replaced only with --overwrite. --resume continues with the checkpoint's settings: an \
      option given with a different value is refused; --epochs sets the new total.

      Transfer learning: --from MODEL --freeze NODE keeps MODEL up to NODE frozen and trains \
      a new head (--head, default flatten and dense CLASSES softmax); --unfreeze-after N \
      fine-tunes the backbone too after N epochs.

      \(OutputRule.text)
      """)

  static let defaultOutput = "output/model.bin"

  @Option(
    help: ArgumentHelp(
      "A preset (\(Preset.allCases.map(\.rawValue).joined(separator: ", "))) or a model spec "
        + "file. Not needed with --resume.", valueName: "model"))
  var model: String?

  @OptionGroup var data: DataOptions
  @OptionGroup var labels: LabelsOption
  @OptionGroup var resize: ResizeOption
  @OptionGroup var threads: ThreadOptions

  @Option(
    name: .customLong("epochs"), parsing: .unconditional,
    help: ArgumentHelp(
      "Number of epochs to train, in total when resuming (default 8).", valueName: "epochs"))
  var requestedEpochs: Int?

  @Option(
    name: .customLong("batch-size"), parsing: .unconditional,
    help: ArgumentHelp("Samples per gradient step (default 100).", valueName: "batch-size"))
  var requestedBatchSize: Int?

  @Option(
    name: .customLong("validation-split"), parsing: .unconditional,
    help: ArgumentHelp(
      "Fraction of the training data held out (from the end) to validate each epoch "
        + "(default 0.1).", valueName: "fraction"))
  var requestedValidationSplit: Double?

  @Option(
    name: .customLong("optimizer"),
    help: ArgumentHelp("The optimizer (default adadelta).", valueName: "optimizer"))
  var requestedOptimizer: OptimizerKind?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "Learning rate (default: Keras's for the optimizer; adadelta 1.0, sgd 0.01, adam and "
        + "rmsprop 0.001).", valueName: "rate"))
  var learningRate: Float?

  @Option(parsing: .unconditional, help: "Momentum (sgd, rmsprop; default 0).")
  var momentum: Float?

  @Flag(help: "Use Nesterov momentum (sgd).")
  var nesterov = false

  @Option(
    parsing: .unconditional,
    help: "Decay rate of the running averages (adadelta default 0.95, rmsprop 0.9).")
  var rho: Float?

  @Option(parsing: .unconditional, help: "Adam's first-moment decay (default 0.9).")
  var beta1: Float?

  @Option(parsing: .unconditional, help: "Adam's second-moment decay (default 0.999).")
  var beta2: Float?

  @Option(parsing: .unconditional, help: "Fuzz factor added to denominators (default 1e-7).")
  var epsilon: Float?

  @Option(
    name: .customLong("seed"), parsing: .unconditional,
    help: ArgumentHelp(
      "Seed for initialization, shuffling and dropout; equal seeds give equal models "
        + "(default 0).", valueName: "seed"))
  var requestedSeed: UInt64?

  @Option(
    name: .customLong("augment"),
    help: ArgumentHelp(
      "Random changes to every training batch, drawn with the seed: standard (flip,shift=0.1, "
        + "Keras's ImageDataGenerator for CIFAR-10) or a list of flip, shift=F (0-0.5), crop=P "
        + "(0-64 pixels), rotate=D (0-180 degrees), brightness=B (0-1), "
        + "fill=nearest|constant|reflect|wrap (default: none).", valueName: "list"))
  var augmentOption: String?

  @Option(
    name: .customLong("lr-schedule"),
    help: ArgumentHelp(
      "How the learning rate changes per epoch: step:EPOCHS:FACTOR (× FACTOR every EPOCHS), "
        + "cosine[:EPOCHS] (cosine decay over the run, or EPOCHS), or "
        + "plateau[:PATIENCE:FACTOR] (× FACTOR after PATIENCE epochs without a lower val_loss; "
        + "Keras's defaults 10 and 0.1). Default: constant.", valueName: "schedule"))
  var scheduleOption: String?

  @Option(
    name: .customLong("weight-decay"), parsing: .unconditional,
    help: ArgumentHelp(
      "Decoupled weight decay, as Keras 3's optimizers apply weight_decay (AdamW is "
        + "--optimizer adam with it): before each step every weight w becomes w - w*WD*lr. "
        + "Default 0 (none).", valueName: "wd"))
  var weightDecay: Float?

  @Option(
    name: .customLong("early-stopping"), parsing: .unconditional,
    help: ArgumentHelp(
      "Stop after PATIENCE epochs without a lower val_loss; the model then holds the best "
        + "epoch's weights.", valueName: "patience"))
  var earlyStopping: Int?

  @Flag(
    help: ArgumentHelp(
      "Write the model of every epoch that lowers val_loss to MODEL-best.bin (MODEL: the "
        + "output path without extension)."))
  var saveBest = false

  @Flag(help: "Continue the interrupted run whose checkpoint is the --output file.")
  var resume = false

  @Flag(help: "Replace an existing model file at --output and start over.")
  var overwrite = false

  @Option(
    name: [.short, .customLong("output")],
    help: ArgumentHelp(
      "Where to write the model (default \(defaultOutput)); it is also the checkpoint, "
        + "rewritten every epoch.", valueName: "file"))
  var outputOption: String?

  @Option(
    help: ArgumentHelp(
      "Per-epoch history CSV (default: the output path with .csv).", valueName: "file"))
  var history: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "Every N epochs, draw the first-layer filters and the feature maps of the first training "
        + "image into MODEL-snapshots/ (MODEL: the output path without extension).", valueName: "n")
  )
  var snapshotEvery: Int?

  @OptionGroup var memory: MemoryOptions
  @OptionGroup var transfer: TransferOptions

  var epochs: Int { requestedEpochs ?? 8 }
  var batchSize: Int { requestedBatchSize ?? 100 }
  var validationSplit: Double { requestedValidationSplit ?? 0.1 }
  var optimizer: OptimizerKind { requestedOptimizer ?? .adadelta }
  var seed: UInt64 { requestedSeed ?? 0 }
  /// `--lr-schedule`, checked by `validate()`; constant when not given.
  var schedule: LearningRateSchedule {
    (try? LearningRateSchedule(parsing: scheduleOption ?? "constant")) ?? .constant
  }

  /// `--save-best`'s file: MODEL-best.bin beside the model.
  var bestModelPath: String { TrainingPictures.prefix(forModelAt: output) + "-best.bin" }

  /// `--augment`, checked by `validate()`; none when not given.
  var augmentation: Augmentation {
    (try? Augmentation(parsing: augmentOption ?? "none")) ?? Augmentation()
  }

  /// The model file, by `OutputRule` (a folder gets model.bin inside).
  var output: String {
    (try? SingleOutput(outputOption, defaultPath: Self.defaultOutput).path) ?? Self.defaultOutput
  }

  /// `--history`, or the output path with its extension replaced by `.csv`.
  var historyPath: String { history ?? TrainingPictures.prefix(forModelAt: output) + ".csv" }

  func validate() throws {
    if let snapshotEvery, snapshotEvery < 1 {
      throw ValidationError("--snapshot-every must be at least 1")
    }
    guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    try OptionCheck.fraction(validationSplit, "--validation-split")
    if transfer.from != nil {
      try checkTransferOptions()
    } else if model == nil && !resume {
      throw ValidationError(
        "--model is required (a preset or a spec file) unless --resume or --from")
    }
    if resume && overwrite {
      throw ValidationError("--resume continues the model and --overwrite starts over: give one")
    }
    if let model { try ModelArgument.checkName(model) }
    try OptionCheck.positive(learningRate, "--learning-rate")
    // With --resume the checkpoint's optimizer decides what applies.
    if !resume { try checkOptimizerOptions(for: optimizer) }
    for (flag, value) in [("--rho", rho), ("--beta1", beta1), ("--beta2", beta2)] {
      try OptionCheck.fraction(value, flag)
    }
    try OptionCheck.fraction(momentum, "--momentum")
    try OptionCheck.positive(epsilon, "--epsilon")
    if let weightDecay, !(weightDecay.isFinite && weightDecay >= 0) {
      throw ValidationError("--weight-decay must be a finite number, 0 or more")
    }
    if let scheduleOption {
      do {
        _ = try LearningRateSchedule(parsing: scheduleOption)
      } catch {
        throw ValidationError("--lr-schedule: \(error.description)")
      }
    }
    if let earlyStopping, earlyStopping < 1 {
      throw ValidationError("--early-stopping must be at least 1 epoch")
    }
    if !resume && validationSplit == 0 {
      try OptionCheck.refuse(
        [
          "--lr-schedule plateau": schedule.needsValidation,
          "--early-stopping": earlyStopping != nil, "--save-best": saveBest,
        ], "watches val_loss and needs --validation-split above 0")
    }
    if let augmentOption {
      do {
        _ = try Augmentation(parsing: augmentOption)
      } catch {
        throw ValidationError("--augment \(augmentOption): \(error.description)")
      }
    }
    _ = try SingleOutput(outputOption, defaultPath: Self.defaultOutput)
    try checkOutputs()
  }

  /// The model, its history and pictures must be different files, and none
  /// the model spec read.
  private func checkOutputs() throws {
    let prefix = TrainingPictures.prefix(forModelAt: output)
    var outputs = [
      NamedPath(role: "the model (-o)", path: output),
      NamedPath(role: "the history CSV", path: historyPath),
    ]
    for picture in ["loss", "accuracy", "confusion"] {
      outputs.append(NamedPath(role: "the \(picture) picture", path: "\(prefix)-\(picture).png"))
    }
    // With --resume the checkpoint may save the best model without the flag.
    if saveBest || resume {
      outputs.append(NamedPath(role: "the best model (--save-best)", path: bestModelPath))
    }
    var inputs: [NamedPath] = []
    if let model, Preset(rawValue: model) == nil {
      inputs.append(NamedPath(role: "the model spec", path: model))
    }
    if let from = transfer.from { inputs.append(NamedPath(role: "the model (--from)", path: from)) }
    try NamedPath.refuseCollisions(outputs: outputs, inputs: inputs)
  }

  func run() throws {
    threads.apply()
    if let from = transfer.from { return try runTransfer(from: from) }
    // One run at a time per checkpoint: a second `train -o` of the same file
    // is refused rather than both writing it and the last one winning.
    try OutputPaths.makeParentFolder(of: output)
    let lock = try FileLock(protecting: output)
    defer { lock.release() }
    var trainer: Trainer
    var splits: DatasetSplits
    var adaptation = ""
    if resume {
      if let estimate = CommandMemory.modelFile(output) {
        try memory.check(estimate, for: "\(output): reading the checkpoint")
      }
      for stale in AtomicFile.removeStaleTemporaries(of: output) {
        Terminal.say("removed \(stale), left by an interrupted write")
      }
      trainer = try Trainer.resume(from: output)
      try checkResumeOptions(against: trainer)
      guard trainer.epochsCompleted <= epochs else {
        throw CommandFailure.usage(
          "\(output) has already trained \(plural(trainer.epochsCompleted, "epoch")), more than "
            + "--epochs \(epochs); pass --epochs above that to continue")
      }
      if trainer.stoppedEarly {
        Terminal.say(
          "\(output) stopped early after epoch \(trainer.epochsCompleted) (no lower val_loss for "
            + "\(plural(trainer.configuration.earlyStoppingPatience ?? 0, "epoch"))); nothing left "
            + "to train")
        return
      }
      guard trainer.epochsCompleted < epochs else {
        Terminal.say(
          "\(output) has already trained \(plural(epochs, "epoch")); nothing left to train")
        return
      }
      trainer.configuration.epochs = epochs
      try checkSnapshots(trainer.spec)
      let optimizer = trainer.optimizer.configuration
      let batchSize = trainer.configuration.batchSize
      let split = trainer.configuration.validationSplit
      try checkMemory(
        spec: trainer.spec, optimizer: optimizer, batchSize: batchSize, validationSplit: split)
      splits = try data.load(
        for: trainer.spec, resize: trainer.resize, seed: trainer.configuration.seed,
        labels: labels)
      try checkMemory(
        spec: trainer.spec, optimizer: optimizer, batchSize: batchSize, validationSplit: split,
        data: splits)
      Terminal.say("resuming \(output) after epoch \(trainer.epochsCompleted) of \(epochs)")
    } else {
      if FileManager.default.fileExists(atPath: output) && !overwrite {
        throw CommandFailure.usage(
          "\(output) already exists; pass --overwrite to replace it, or --resume to continue "
            + "its training")
      }
      // validate() made --model required without --resume.
      let argument = try ModelArgument.resolve(model ?? "", allowModelFile: false, memory: memory)
      try checkMemory(
        spec: argument.spec, optimizer: optimizerConfiguration, batchSize: batchSize,
        validationSplit: validationSplit)
      let mode = resize.resize ?? .fill
      let spec: ModelSpec
      if case .preset(let preset) = argument, case .image(let h, let w, _) = preset.spec.input {
        // A preset takes the data's own channels and sizes its last layer to its classes.
        splits = try data.load(
          channels: nil, size: SampleSize(height: h, width: w, resize: mode), seed: seed,
          labels: labels)
        spec = try preset.spec(
          channels: splits.train.sampleShape[0], classes: splits.train.classNames.count)
        adaptation = Self.adaptation(of: preset, to: spec)
      } else {
        spec = argument.spec
        splits = try data.load(for: spec, resize: mode, seed: seed, labels: labels)
      }
      try checkSnapshots(spec)
      try checkMemory(
        spec: spec, optimizer: optimizerConfiguration, batchSize: batchSize,
        validationSplit: validationSplit, data: splits)
      trainer = try Trainer(
        spec: spec, optimizer: optimizerConfiguration,
        configuration: TrainingConfiguration(
          epochs: epochs, batchSize: batchSize, validationSplit: validationSplit, seed: seed,
          augmentation: augmentation, learningRateSchedule: schedule,
          earlyStoppingPatience: earlyStopping, saveBest: saveBest,
          weightDecay: weightDecay ?? 0),
        dataset: data.describe(splits), classNames: splits.train.classNames, resize: mode)
    }
    try fit(&trainer, splits: splits, adaptation: adaptation)
  }

  /// Refuses `--snapshot-every` for a model without a convolution, before
  /// any epoch runs.
  private func checkSnapshots(_ spec: ModelSpec) throws {
    guard snapshotEvery != nil, LayerActivations.convolutionLayers(of: spec).isEmpty else { return }
    throw CommandFailure.usage(
      "--snapshot-every draws the first convolution's filters, and the model has no conv2d layer")
  }

  /// What a preset changed to fit the data, for the summary line: "" when
  /// nothing, else e.g. "; last layer sized to the data's 3 classes".
  static func adaptation(of preset: Preset, to spec: ModelSpec) -> String {
    var changes: [String] = []
    if case .image(_, _, let c) = spec.input, case .image(_, _, let base) = preset.spec.input,
      c != base
    {
      changes.append("input takes the data's \(c) channel\(c == 1 ? "" : "s")")
    }
    if let classes = spec.classCount, classes != preset.spec.classCount {
      changes.append("last layer sized to the data's \(classes) classes")
    }
    return changes.isEmpty ? "" : "; " + changes.joined(separator: ", ")
  }
}
