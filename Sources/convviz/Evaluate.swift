import ArgumentParser
import CNN
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
      test split when it has one. The confusion matrix is also drawn as an image.
      """)

  /// Which part of a data set to evaluate on.
  enum Part: String, ExpressibleByArgument, CaseIterable {
    case test, train
  }

  @Argument(help: ArgumentHelp("A model file written by `convviz train`.", valueName: "model"))
  var model: String

  @OptionGroup var data: DataOptions
  @OptionGroup var threads: ThreadOptions

  @Option(help: "The part of the data set to use (default: test when present, else train).")
  var split: Part?

  @Option(help: "Samples per forward pass (bounds memory; results do not depend on it).")
  var batchSize = 100

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "Confusion-matrix image (default: output/<model-stem>-<split>-confusion.png).",
      valueName: "file"))
  var output: String?

  func validate() throws {
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
  }

  func run() throws {
    threads.apply()
    let file = try ModelFile.read(from: model)
    let splits = try data.load(for: file.spec, seed: file.metadata.seed)
    let part = split ?? (splits.test == nil ? .train : .test)
    guard let dataset = part == .test ? splits.test : splits.train else {
      throw ValidationError("\(data.folder) has no test split; use --split train")
    }
    var network = file.spec.makeModel(parameters: file.parameters)
    let result = try network.evaluation(on: dataset.labeled, spec: file.spec, batchSize: batchSize)
    let names =
      file.metadata.classNames.count == result.confusion.count
      ? file.metadata.classNames : dataset.classNames
    print("\(model): \(file.metadata.epochsCompleted) epochs on \(file.metadata.dataset)")
    print("\(data.describe(splits)): \(part.rawValue) split, \(dataset.count) samples")
    print(
      Self.report(
        loss: result.loss, accuracy: result.accuracy, confusion: result.confusion,
        classNames: names), terminator: "")
    let stem = ((model as NSString).lastPathComponent as NSString).deletingPathExtension
    let picture = output ?? "output/\(stem)-\(part.rawValue)-confusion.png"
    try OutputFolder.create(for: picture)
    try TrainingPictures.writeConfusionMatrix(result.confusion, classNames: names, to: picture)
    print("wrote \(picture)")
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
      "loss \(ProgressBar.fixed(loss, 4))  accuracy \(ProgressBar.fixed(accuracy, 4))"
        + " (\(correct)/\(confusion.joined().reduce(0, +)))",
      "",
      left("class", nameWidth) + "  accuracy  correct/total",
    ]
    for c in classes {
      let total = confusion[c].reduce(0, +)
      let share = total == 0 ? "-" : ProgressBar.fixed(Double(confusion[c][c]) / Double(total), 4)
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
