import ArgumentParser
import AtomicFiles
import CNN
import Datasets
import Visualization

#if canImport(Glibc)
  import Glibc
#endif

extension OptimizerKind: ExpressibleByArgument {}

/// `convviz train`: trains a model on a data set and writes model.bin, with a
/// checkpoint at the end of every epoch.
struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a CNN on MNIST, CIFAR-10 or a folder of labelled images.",
    discussion: """
      The seed's MNIST run:
        convviz train --model mnist-cnn --data DIR --epochs 8 --batch-size 100 \\
          --validation-split 0.1 --optimizer adadelta --seed 0 -o output/model.bin

      Adadelta's default learning rate is 1.0, as in the Keras the seed used; Keras 3 \
      changed it to 0.001. The validation split is the last fraction of the training data \
      (image folders are shuffled with the seed first, so every class is in both parts).
      """)

  @Option(
    help: ArgumentHelp(
      "A preset (\(Preset.allCases.map(\.rawValue).joined(separator: ", "))) or a model spec "
        + "file. Not needed with --resume.", valueName: "model"))
  var model: String?

  @OptionGroup var data: DataOptions
  @OptionGroup var threads: ThreadOptions

  @Option(help: "Number of epochs to train (in total, when resuming).")
  var epochs = 8

  @Option(help: "Samples per gradient step.")
  var batchSize = 100

  @Option(
    help: ArgumentHelp(
      "Fraction of the training data held out (from the end) to validate each epoch.",
      valueName: "fraction"))
  var validationSplit = 0.1

  @Option(help: "The optimizer.")
  var optimizer: OptimizerKind = .adadelta

  @Option(
    help: ArgumentHelp(
      "Learning rate (default: Keras's for the optimizer; adadelta 1.0, sgd 0.01, adam and "
        + "rmsprop 0.001).", valueName: "rate"))
  var learningRate: Float?

  @Option(help: "Momentum (sgd, rmsprop; default 0).")
  var momentum: Float?

  @Flag(help: "Use Nesterov momentum (sgd).")
  var nesterov = false

  @Option(help: "Decay rate of the running averages (adadelta default 0.95, rmsprop 0.9).")
  var rho: Float?

  @Option(help: "Adam's first-moment decay (default 0.9).")
  var beta1: Float?

  @Option(help: "Adam's second-moment decay (default 0.999).")
  var beta2: Float?

  @Option(help: "Fuzz factor added to denominators (default 1e-7).")
  var epsilon: Float?

  @Option(help: "Seed for initialization, shuffling and dropout; equal seeds give equal models.")
  var seed: UInt64 = 0

  @Flag(help: "Continue the interrupted run whose checkpoint is the --output file.")
  var resume = false

  @Option(
    name: [.short, .customLong("output")],
    help: ArgumentHelp(
      "Where to write the model; it is also the checkpoint, rewritten every epoch.",
      valueName: "file"))
  var output = "output/model.bin"

  @Option(
    help: ArgumentHelp(
      "Per-epoch history CSV (default: the output path with .csv).", valueName: "file"))
  var history: String?

  @Option(
    help: ArgumentHelp(
      "Every N epochs, draw the first-layer filters and the feature maps of the first training "
        + "image into MODEL-snapshots/ (MODEL: the output path without extension).", valueName: "n")
  )
  var snapshotEvery: Int?

  func validate() throws {
    if let snapshotEvery, snapshotEvery < 1 {
      throw ValidationError("--snapshot-every must be at least 1")
    }
    guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    guard validationSplit >= 0, validationSplit < 1 else {
      throw ValidationError("--validation-split must be in [0, 1)")
    }
    guard model != nil || resume else {
      throw ValidationError("--model is required (a preset or a spec file) unless --resume")
    }
    if let model, !resume { try ModelArgument.checkName(model) }
    if let learningRate, !(learningRate > 0) {
      throw ValidationError("--learning-rate must be positive")
    }
    let applicable: [(String, Bool, Set<OptimizerKind>)] = [
      ("--momentum", momentum != nil, [.sgd, .rmsprop]),
      ("--nesterov", nesterov, [.sgd]),
      ("--rho", rho != nil, [.adadelta, .rmsprop]),
      ("--beta1", beta1 != nil, [.adam]),
      ("--beta2", beta2 != nil, [.adam]),
      ("--epsilon", epsilon != nil, [.adadelta, .adam, .rmsprop]),
    ]
    for (flag, given, kinds) in applicable where given && !kinds.contains(optimizer) {
      let names = kinds.map(\.rawValue).sorted().joined(separator: ", ")
      throw ValidationError("\(flag) applies to \(names), not \(optimizer.rawValue)")
    }
    for (flag, value) in [("--rho", rho), ("--beta1", beta1), ("--beta2", beta2)] {
      if let value, !(value >= 0 && value < 1) {
        throw ValidationError("\(flag) must be in [0, 1)")
      }
    }
    if let momentum, !(momentum >= 0 && momentum < 1) {
      throw ValidationError("--momentum must be in [0, 1)")
    }
    if let epsilon, !(epsilon > 0) { throw ValidationError("--epsilon must be positive") }
  }

  /// The optimizer with Keras's defaults overridden by the options given.
  var optimizerConfiguration: OptimizerConfiguration {
    switch OptimizerConfiguration.defaults(for: optimizer) {
    case .sgd(let lr, let m, let n):
      return .sgd(
        learningRate: learningRate ?? lr, momentum: momentum ?? m,
        nesterov: nesterov || n)
    case .adadelta(let lr, let r, let e):
      return .adadelta(learningRate: learningRate ?? lr, rho: rho ?? r, epsilon: epsilon ?? e)
    case .adam(let lr, let b1, let b2, let e):
      return .adam(
        learningRate: learningRate ?? lr, beta1: beta1 ?? b1, beta2: beta2 ?? b2,
        epsilon: epsilon ?? e)
    case .rmsprop(let lr, let r, let m, let e):
      return .rmsprop(
        learningRate: learningRate ?? lr, rho: rho ?? r, momentum: momentum ?? m,
        epsilon: epsilon ?? e)
    }
  }

  /// The history file: `--history`, or the output path with its extension
  /// replaced by `.csv`.
  var historyPath: String {
    if let history { return history }
    let slash = output.lastIndex(of: "/")
    if let dot = output.lastIndex(of: "."), slash.map({ dot > $0 }) ?? true,
      dot != output.startIndex
    {
      return String(output[..<dot]) + ".csv"
    }
    return output + ".csv"
  }

  func run() throws {
    threads.apply()
    var trainer: Trainer
    var splits: DatasetSplits
    if resume {
      trainer = try Trainer.resume(from: output)
      // A run killed after its last checkpoint but before its history and
      // pictures were written resumes as a no-op that finishes those.
      guard trainer.epochsCompleted <= epochs else {
        throw CommandFailure(
          "\(output) has already trained \(trainer.epochsCompleted) epochs, more than "
            + "--epochs \(epochs); pass --epochs above that to continue")
      }
      if trainer.epochsCompleted == epochs {
        print("\(output) has already trained \(epochs) epochs; nothing left to train")
      }
      if model != nil || learningRate != nil || optimizer != .adadelta {
        Terminal.warn(
          "--resume continues with the checkpoint's model and optimizer; "
            + "--model and optimizer options are ignored")
      }
      trainer.configuration.epochs = epochs
      splits = try data.load(for: trainer.spec, seed: trainer.configuration.seed)
      print("resuming \(output) after epoch \(trainer.epochsCompleted) of \(epochs)")
    } else {
      guard let model else { throw ValidationError("--model is required unless --resume") }
      let spec = try ModelArgument.resolve(model, allowModelFile: false).spec
      splits = try data.load(for: spec, seed: seed)
      trainer = Trainer(
        spec: spec, optimizer: optimizerConfiguration,
        configuration: TrainingConfiguration(
          epochs: epochs, batchSize: batchSize, validationSplit: validationSplit, seed: seed),
        dataset: data.describe(splits), classNames: splits.train.classNames)
    }
    let trainingCount = Int(
      Double(splits.train.count) * (1 - trainer.configuration.validationSplit))
    let validationCount = splits.train.count - trainingCount
    let parameters = ProgressBar.grouped(ModelSummary(trainer.spec).totalCount)
    print(
      "training \(model ?? output) (\(parameters) parameters) on \(data.describe(splits)): "
        + "\(trainingCount) training, \(validationCount) validation samples; "
        + "\(trainer.optimizer.configuration)")
    try OutputFolder.create(for: output)
    try OutputFolder.create(for: historyPath)

    // Draw the bar only for a person watching; logs get one line per epoch.
    let interactive = isatty(STDOUT_FILENO) != 0
    var bar: ProgressBar?
    let snapshotFolder = TrainingPictures.prefix(forModelAt: output) + "-snapshots"
    if snapshotEvery != nil { try VisualizationIO.makeFolder(snapshotFolder) }
    var snapshotError: (any Error)?
    try trainer.fit(splits.train.labeled, checkpointPath: output) { event in
      switch event {
      case .epochStarted(let epoch, let epochs, let batches, _):
        if interactive { bar = ProgressBar(label: "epoch \(epoch)/\(epochs)", total: batches) }
      case .batchFinished(_, let batch, _, let loss, let accuracy):
        bar?.update(done: batch, loss: loss, accuracy: accuracy)
      case .epochFinished(let record):
        bar?.clear()
        print(Self.epochLine(record, epochs: epochs))
        if let every = snapshotEvery, record.epoch % every == 0, snapshotError == nil {
          do {
            let files = try writeTrainingSnapshot(
              model: ModelFile.read(from: output),
              probe: ImageTensor.sample(0, of: splits.train.images),
              epoch: record.epoch, folder: snapshotFolder)
            print("wrote \(files.filters) and \(files.featureMaps)")
          } catch { snapshotError = error }
        }
        fflush(nil)
      }
    }
    if let snapshotError { throw snapshotError }
    try AtomicFile.write(Self.historyCSV(trainer.history), to: historyPath)
    let picturePrefix = TrainingPictures.prefix(forModelAt: output)
    var pictures = try TrainingPictures.writeCurves(trainer.history, pathPrefix: picturePrefix)
    if let test = splits.test {
      var network = trainer.model
      let result = try network.evaluation(on: test.labeled, spec: trainer.spec)
      try TrainingPictures.writeConfusionMatrix(
        result.confusion, classNames: trainer.classNames, to: picturePrefix + "-confusion.png")
      pictures.append(picturePrefix + "-confusion.png")
      print(
        "test loss \(ProgressBar.fixed(result.loss, 4))  test accuracy "
          + "\(ProgressBar.fixed(result.accuracy, 4)) (\(test.count) samples)")
    }
    print("wrote \(output) (\(trainer.epochsCompleted) epochs, with checkpoint) and \(historyPath)")
    for picture in pictures { print("wrote \(picture)") }
  }

  /// `epoch 3/8  loss 0.0412  accuracy 0.9871  val_loss 0.0391  val_accuracy 0.9885  41.2s`
  static func epochLine(_ record: EpochRecord, epochs: Int) -> String {
    var line =
      "epoch \(record.epoch)/\(epochs)  loss \(ProgressBar.fixed(record.loss, 4))  "
      + "accuracy \(ProgressBar.fixed(record.accuracy, 4))"
    if let loss = record.validationLoss, let accuracy = record.validationAccuracy {
      line +=
        "  val_loss \(ProgressBar.fixed(loss, 4))  val_accuracy "
        + ProgressBar.fixed(accuracy, 4)
    }
    if let seconds = record.seconds { line += "  \(ProgressBar.fixed(seconds, 1))s" }
    return line
  }

  /// The history as CSV with Keras's CSVLogger column names.
  static func historyCSV(_ history: [EpochRecord]) -> String {
    ([EpochRecord.csvHeader] + history.map(\.csvRow)).joined(separator: "\n") + "\n"
  }
}
