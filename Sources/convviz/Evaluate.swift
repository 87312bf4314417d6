import ArgumentParser
import Engine
import ModelFormats
import Training
import Datasets
import Foundation
import Visualization

/// `convviz evaluate model.bin --data DIR`: loss, accuracy, per-class
/// accuracy and the confusion counts of a trained model.
struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Measure a trained model's loss and accuracy on a data set.",
    discussion: """
      Prints the mean cross-entropy, the accuracy, each class's accuracy and the \
      confusion counts (rows: true class, columns: predicted class). Uses the data set's \
      test split when it has one, else all its samples. The confusion matrix is also drawn \
      as an image; -o names that file (default output/<model-stem>-<split>-confusion.png).
      """)

  /// Which part of a data set to evaluate on.
  enum Part: String, ExpressibleByArgument, CaseIterable {
    case test, train
  }

  @Argument(help: ArgumentHelp("A model file written by `convviz train`.", valueName: "model"))
  var model: String

  @OptionGroup var data: DataOptions
  @OptionGroup var threads: ThreadOptions

  @Option(help: "The part of the data set to use (default: test when present, else all).")
  var split: Part?

  @Option(
    parsing: .unconditional,
    help: "Samples per forward pass (bounds memory; results do not depend on it).")
  var batchSize = 100

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

  /// Evaluations run in pieces of this many samples, for the progress bar;
  /// a fixed size, so results never depend on whether a terminal watches.
  static let piece = 1000

  func run() throws {
    threads.apply()
    let file = try ModelFile.read(from: model)
    let splits = try data.load(for: file.spec, seed: file.metadata.seed)
    let chosen = split ?? (splits.test == nil ? .train : .test)
    guard let dataset = chosen == .test ? splits.test : splits.train else {
      throw CommandFailure.usage("\(data.folder) has no test split; use --split train")
    }
    // A data set without a test split is evaluated whole: not a "train split".
    let whole = split == nil && splits.test == nil
    let part = whole ? "all" : chosen.rawValue
    var network = file.spec.makeModel(parameters: file.parameters)
    let result = try evaluate(&network, on: dataset.labeled, spec: file.spec)
    let names =
      file.metadata.classNames.count == result.confusion.count
      ? file.metadata.classNames : dataset.classNames
    Terminal.say(
      "\(model): \(plural(file.metadata.epochsCompleted, "epoch")) on \(file.metadata.dataset)")
    Terminal.say(
      "\(data.describe(splits)): "
        + (whole
          ? "all \(plural(dataset.count, "sample")) (no separate test split)"
          : "\(part) split, \(plural(dataset.count, "sample"))"))
    Terminal.sayLines(
      Self.report(
        loss: result.loss, accuracy: result.accuracy, confusion: result.confusion,
        classNames: names.map { Terminal.escaped($0) }))
    let picture = try SingleOutput(output, defaultPath: defaultPicture(part))
    try picture.prepare()
    try TrainingPictures.writeConfusionMatrix(
      result.confusion, classNames: names, to: picture.path ?? "")
    Terminal.say("wrote \(picture.name)")
  }

  /// `network.evaluation` piece by piece, with the progress bar; the
  /// pieces' losses are weighted by their sizes and the counts added.
  private func evaluate(_ network: inout Sequential, on data: LabeledData, spec: ModelSpec)
    throws -> (loss: Double, accuracy: Double, confusion: [[Int]])
  {
    guard data.count > Self.piece else {
      let result = try network.evaluation(on: data, spec: spec, batchSize: batchSize)
      return (result.loss, result.accuracy, result.confusion)
    }
    let progress = ProgressBar(label: "evaluating", total: data.count)
    var loss = 0.0
    var confusion: [[Int]] = []
    for start in stride(from: 0, to: data.count, by: Self.piece) {
      let end = min(start + Self.piece, data.count)
      let part = try network.evaluation(
        on: data.slice(start..<end), spec: spec, batchSize: batchSize)
      loss += part.loss * Double(end - start)
      confusion =
        confusion.isEmpty
        ? part.confusion : zip(confusion, part.confusion).map { zip($0, $1).map(+) }
      progress.update(done: end)
    }
    progress.finish()
    let correct = confusion.indices.reduce(0) { $0 + confusion[$1][$1] }
    return (loss / Double(data.count), Double(correct) / Double(data.count), confusion)
  }

  /// Loss and accuracy, a per-class table, then the confusion counts.
  static func report(
    loss: Double, accuracy: Double, confusion: [[Int]], classNames: [String]
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
      left("class", nameWidth) + "  accuracy  correct/total",
    ]
    for c in classes {
      let total = confusion[c].reduce(0, +)
      let share = total == 0 ? "-" : TextFormat.fixed(Double(confusion[c][c]) / Double(total), 4)
      lines.append(
        left(names[c], nameWidth) + "  " + right(share, 8) + "  "
          + right("\(confusion[c][c])/\(total)", 13))
    }
    lines += ["", "confusion counts (rows: true class, columns: predicted class)"]
    let cell = max(confusion.joined().map { String($0).count }.max() ?? 1, 5)
    lines.append(
      left("", nameWidth) + " "
        + names.map { right(String($0.prefix(cell)), cell) }
        .joined(separator: " "))
    for c in classes {
      lines.append(
        left(names[c], nameWidth) + " "
          + confusion[c].map { right(String($0), cell) }.joined(separator: " "))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
