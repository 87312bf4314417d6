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
    abstract: "Measure a trained model's loss and accuracy on a data set.",
    discussion: """
      Prints the mean cross-entropy, the accuracy, each class's accuracy (its recall), \
      precision and F1, and the confusion counts (rows: true class, columns: predicted \
      class). --format json or csv prints the same numbers for programs instead, at full \
      precision (docs/results.md). Uses the data set's \
      test split when it has one, else all its samples. The confusion matrix is also drawn \
      as an image; -o names that file (default output/<model-stem>-<split>-confusion.png). \
      Classes are matched to the model's by name (folder names, CIFAR-10's names, \
      --labels); a model class absent from the data is reported as such.
      """)

  /// Which part of a data set to evaluate on.
  enum Part: String, ExpressibleByArgument, CaseIterable {
    case test, train
  }

  @Argument(
    help: ArgumentHelp(
      "A model file written by `convviz train`, an ONNX model, or a Keras model (.keras, .h5).",
      valueName: "model"))
  var model: String

  @OptionGroup var data: DataOptions
  @OptionGroup var labels: LabelsOption
  @OptionGroup var unknownClasses: UnknownClassesOption
  @OptionGroup var resize: ResizeOption
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

  /// Evaluations of more samples than this show a progress bar.
  static let progressThreshold = 1000

  func run() throws {
    threads.apply()
    let opened = try ModelArgument.loadModel(
      model, memory: memory, architecture: architecture.architecture)
    try memory.check(opened.inferenceMemory(batchSize: 1), for: "\(model): evaluating")
    let splits = try data.load(
      for: opened.input, resize: resize.resize ?? opened.resize, seed: opened.seed,
      labels: labels)
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
    let part = whole ? "all" : chosen.rawValue
    guard let classCount = opened.classCount else {
      throw CommandFailure("\(model): the model's output is not one score per class")
    }
    let (dataset, match) = try samples.matchingClasses(
      of: opened.classNames, classCount: classCount,
      ignoringUnknown: unknownClasses.ignoreUnknownClasses)
    var network = opened.network
    let progress =
      dataset.count > Self.progressThreshold
      ? ProgressBar(label: "evaluating", total: dataset.count) : nil
    let result = try network.evaluation(on: dataset, input: opened.input, batchSize: batchSize) {
      progress?.update(done: $0)
    }
    progress?.finish()
    let names = match.modelClasses
    // With --format json or csv, stdout holds the document alone.
    let textFormat = format == .text
    func say(_ line: String) {
      if textFormat { Terminal.say(line) } else { Terminal.diagnostic(line) }
    }
    say("\(model): " + Terminal.escaped(opened.origin))
    say(
      "\(data.describe(splits)): "
        + (whole
          ? "all \(plural(dataset.count, "sample")) (no separate test split)"
          : "\(part) split, \(plural(dataset.count, "sample"))"))
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
          data: data.describe(splits), split: part, skipped: match
        ).rendered())
    case .csv:
      Terminal.sayLines(
        Self.csv(result, classNames: names, absent: Set(match.absentClasses)))
    }
    let picture = try SingleOutput(output, defaultPath: defaultPicture(part))
    try picture.prepare()
    try TrainingPictures.writeConfusionMatrix(
      result.confusion, classNames: names, to: picture.path ?? "")
    say("wrote \(picture.name)")
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
