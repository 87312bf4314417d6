import ArgumentParser
import Engine
import ModelFormats
import Training
import Datasets
import Foundation
import Tensors
import Visualization

/// `convviz evaluate model.bin --data DIR`: loss, accuracy, per-class
/// accuracy and the confusion counts of a trained model.
struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "evaluate",
    abstract: "Measure a trained model's loss and accuracy on a data set.",
    discussion: """
      Prints the mean cross-entropy, the accuracy, each class's accuracy (its recall), \
      precision and F1, and the confusion counts (rows: true class, columns: predicted \
      class). --format json or csv prints the same numbers for programs instead, at full \
      precision (docs/results.md). Uses the data set's \
      test split when it has one, else all its samples. The confusion matrix is also drawn \
      as an image; -o names that file (default output/<model-stem>-<split>-confusion.png). \
      Classes are matched to the model's by name (folder names, CIFAR-10's names, \
      --labels); a model class absent from the data is reported as such. Images go \
      through the same conversion as for `predict` (--resize, --mean, --std, --scale, \
      --channel-order, --preprocess). --data FILE.npy evaluates input tensors fed as they \
      are (N×C×H×W or N×H×W×C, see --layout), with the class index of each sample in \
      --labels-npy FILE (integers). A model that ends without softmax gets the softmax \
      cross-entropy of its outputs (logits) as its loss.
      """)

  /// Which part of a data set to evaluate on.
  enum Part: String, ExpressibleByArgument, CaseIterable {
    case test, train
  }

  @Argument(help: ModelArgument.help)
  var model: String

  @OptionGroup var data: DataOptions
  @OptionGroup var labels: LabelsOption
  @OptionGroup var unknownClasses: UnknownClassesOption
  @OptionGroup var input: ModelInputOptions
  @OptionGroup var layout: TensorLayoutOption

  @Option(
    name: .customLong("labels-npy"),
    help: ArgumentHelp(
      "With --data FILE.npy (input tensors, fed as they are): the class label of each sample, "
        + "a vector of integers (model class indices).", valueName: "file"))
  var labelsNumPy: String?
  @OptionGroup var memory: MemoryOptions
  @OptionGroup var architecture: ArchitectureOption
  @OptionGroup var threads: ThreadOptions

  @Option(help: "The part of the data set to use (default: test when present, else all).")
  var split: Part?

  @Option(
    parsing: .unconditional,
    help: "Samples per forward pass (bounds memory; results do not depend on it).")
  var batchSize = 100

  @Option(help: "How to print the results on stdout.")
  var format = ResultFormat.text

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "Confusion-matrix image (default: output/<model-stem>-<split>-confusion.png).",
      valueName: "file"))
  var output: String?

  func validate() throws {
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    if NumPyInput.names(data.folder) {
      guard labelsNumPy != nil else {
        throw ValidationError("--data \(data.folder) holds input tensors; give --labels-npy FILE")
      }
      if input.setsValues || input.resize != nil {
        throw ValidationError(
          ".npy inputs are fed as they are: --resize, --mean, --std, --scale, --channel-order "
            + "and --preprocess apply to images")
      }
      if split != nil { throw ValidationError("--split does not apply to .npy inputs") }
      if labels.labels != nil {
        throw ValidationError("--labels names a folder's classes; .npy labels are class indices")
      }
    } else {
      if labelsNumPy != nil {
        throw ValidationError("--labels-npy goes with --data FILE.npy (input tensors)")
      }
      if layout.layout != nil { throw ValidationError("--layout applies to .npy inputs") }
    }
    // The split decides the default name: any of them may not replace the model.
    for part in ["test", "train", "all"] {
      let picture = try SingleOutput(output, defaultPath: defaultPicture(part)).path ?? ""
      try NamedPath.refuseCollisions(
        outputs: [NamedPath(role: "the confusion matrix (-o)", path: picture)],
        inputs: [NamedPath(role: "the model", path: model)])
    }
  }

  private func defaultPicture(_ part: String) -> String {
    "output/\(OutputPaths.stem(of: model))-\(part)-confusion.png"
  }

  /// What is evaluated: the samples with their classes matched to the
  /// model's, how to name them, and the split.
  private struct Subject {
    var dataset: Dataset
    var match: ClassMatch
    var description: String
    var part: String
    /// What was taken of the data, for the line after its description.
    var extent: String
  }

  func run() throws {
    threads.apply()
    let opened = try ModelArgument.loadModel(
      model, memory: memory, input: input, architecture: architecture.architecture)
    try memory.check(opened.inferenceMemory(batchSize: 1), for: "\(model): evaluating")
    guard let classCount = opened.classCount else {
      throw CommandFailure("\(model): the model's output is not one score per class")
    }
    let subject =
      NumPyInput.names(data.folder)
      ? try tensors(for: opened, classCount: classCount)
      : try images(for: opened, classCount: classCount)
    let dataset = subject.dataset
    let match = subject.match
    var network = opened.network
    // Drawn only on a terminal, for more than one batch.
    let progress = ProgressBar(
      label: "evaluating", total: dataset.count, minimumSteps: batchSize + 1)
    let result = try network.evaluation(on: dataset, input: opened.input, batchSize: batchSize) {
      progress.update(done: $0)
    }
    progress.finish()
    let names = match.modelClasses
    // With --format json or csv, stdout holds the document alone.
    let textFormat = format == .text
    func say(_ line: String) {
      if textFormat { Terminal.say(line) } else { Terminal.diagnostic(line) }
    }
    say("\(model): " + Terminal.escaped(opened.origin))
    say("\(subject.description): \(subject.extent)")
    if result.lossFromLogits {
      say("the model ends without softmax: the loss is the softmax cross-entropy of its outputs")
    }
    if !match.skippedClasses.isEmpty {
      say(
        "skipped \(plural(match.skippedSamples, "sample")) of classes the model does not know: "
          + match.skippedClasses.map { "\($0.name) (\($0.samples))" }.joined(separator: ", "))
    }
    switch format {
    case .text:
      Terminal.sayLines(
        Self.report(
          loss: result.loss, accuracy: result.accuracy, confusion: result.confusion,
          classNames: names.map { Terminal.escaped($0) }, absent: Set(match.absentClasses)))
    case .json:
      Terminal.sayLines(
        Self.json(
          result, classNames: names, absent: Set(match.absentClasses), model: model,
          data: subject.description, split: subject.part, skipped: match
        ).rendered())
    case .csv:
      Terminal.sayLines(
        Self.csv(result, classNames: names, absent: Set(match.absentClasses)))
    }
    let picture = try SingleOutput(output, defaultPath: defaultPicture(subject.part))
    try picture.prepare()
    try TrainingPictures.writeConfusionMatrix(
      result.confusion, classNames: names, to: picture.path ?? "")
    say("wrote \(picture.name)")
  }

  /// The data set of `--data`, shaped and preprocessed for `opened`.
  private func images(for opened: LoadedModel, classCount: Int) throws -> Subject {
    let (splits, preprocessing) = try data.load(
      for: opened, path: model, input: input, labels: labels)
    let batch = max(1, min(batchSize, max(splits.train.count, splits.test?.count ?? 0)))
    try memory.check(
      opened.inferenceMemory(batchSize: batch) + CommandMemory.dataset(splits),
      for: "\(model): evaluating in batches of \(batch) on \(data.describe(splits))")
    let chosen = split ?? (splits.test == nil ? .train : .test)
    guard let samples = chosen == .test ? splits.test : splits.train else {
      throw CommandFailure.usage("\(data.folder) has no test split; use --split train")
    }
    // A data set without a test split is evaluated whole: not a "train split".
    let whole = split == nil && splits.test == nil
    var (dataset, match) = try samples.matchingClasses(
      of: opened.classNames, classCount: classCount,
      ignoringUnknown: unknownClasses.ignoreUnknownClasses)
    dataset.preprocessing = preprocessing
    return Subject(
      dataset: dataset, match: match, description: data.describe(splits),
      part: whole ? "all" : chosen.rawValue,
      extent: whole
        ? "all \(plural(dataset.count, "sample")) (no separate test split)"
        : "\(chosen.rawValue) split, \(plural(dataset.count, "sample"))")
  }

  /// The input tensors of `--data FILE.npy` with the labels of
  /// `--labels-npy`, as given.
  private func tensors(for opened: LoadedModel, classCount: Int) throws -> Subject {
    let path = data.folder
    var tensor = try NumPyInput.samples(
      path, model: opened, layout: layout.layout(for: opened), memory: memory)
    let labelsPath = labelsNumPy ?? ""
    var labels = try NumPyInput.labels(
      labelsPath, count: tensor.batchCount, classCount: classCount, memory: memory)
    if let limit = data.limit, limit < labels.count {
      tensor = tensor.samples(0..<limit)
      labels = Array(labels.prefix(limit))
    }
    try memory.check(
      opened.inferenceMemory(batchSize: min(batchSize, labels.count)),
      for: "\(model): evaluating in batches of \(batchSize) on \(path)")
    let samples = Dataset(images: tensor, labels: labels, classNames: [])
    let (dataset, match) = try samples.matchingClasses(
      of: opened.classNames, classCount: classCount)
    return Subject(
      dataset: dataset, match: match, description: path, part: "all",
      extent: "\(plural(dataset.count, "sample")) with labels from \(labelsPath)")
  }

  /// Loss and accuracy, a per-class table, then the confusion counts.
  /// Classes in `absent` have no sample in the data: they get no accuracy.
  static func report(
    loss: Double, accuracy: Double, confusion: [[Int]], classNames: [String],
    absent: Set<Int> = []
  ) -> String {
    let classes = confusion.indices
    let names = classes.map { $0 < classNames.count ? classNames[$0] : "\($0)" }
    let correct = classes.reduce(0) { $0 + confusion[$1][$1] }
    let nameWidth = max(names.map(\.count).max() ?? 0, 5)
    func right(_ text: String, _ width: Int) -> String {
      String(repeating: " ", count: max(width - text.count, 0)) + text
    }
    func left(_ text: String, _ width: Int) -> String {
      text + String(repeating: " ", count: max(width - text.count, 0))
    }
    var lines = [
      "loss \(TextFormat.fixed(loss, 4))  accuracy \(TextFormat.fixed(accuracy, 4))"
        + " (\(correct)/\(confusion.joined().reduce(0, +)))",
      "",
      left("class", nameWidth) + "  accuracy  correct/total  precision      f1",
    ]
    let metrics = ClassMetrics.perClass(confusion: confusion)
    func shown(_ value: Double?) -> String { value.map { TextFormat.fixed($0, 4) } ?? "-" }
    for c in classes {
      let total = confusion[c].reduce(0, +)
      if absent.contains(c) {
        lines.append(left(names[c], nameWidth) + "  " + right("-", 8) + "  not in the data")
        continue
      }
      let share = total == 0 ? "-" : TextFormat.fixed(Double(confusion[c][c]) / Double(total), 4)
      lines.append(
        left(names[c], nameWidth) + "  " + right(share, 8) + "  "
          + right("\(confusion[c][c])/\(total)", 13) + "  " + right(shown(metrics[c].precision), 9)
          + "  " + right(shown(metrics[c].f1), 6))
    }
    let cell = max(confusion.joined().map { String($0).count }.max() ?? 1, 5)
    // Names wider than a column are not cut: the columns get class numbers,
    // written before each row's name, instead.
    let numbered = names.contains { $0.count > cell }
    let digits = String(max(classes.count - 1, 0)).count
    let rowNames = numbered ? classes.map { right("\($0)", digits) + " " + names[$0] } : names
    let rowWidth = max(rowNames.map(\.count).max() ?? 0, nameWidth)
    lines += [
      "",
      "confusion counts (rows: true class, columns: predicted class"
        + (numbered ? ", by number)" : ")"),
    ]
    lines.append(
      left("", rowWidth) + " "
        + (numbered ? classes.map { "\($0)" } : names).map { right($0, cell) }
        .joined(separator: " "))
    for c in classes {
      lines.append(
        left(rowNames[c], rowWidth) + " "
          + confusion[c].map { right(String($0), cell) }.joined(separator: " "))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
