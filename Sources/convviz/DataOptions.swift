import ArgumentParser
import Engine
import ModelFormats
import Training
import Datasets

extension DatasetFormat: ExpressibleByArgument {}

/// Where the data comes from, shared by `train` and `evaluate`.
struct DataOptions: ParsableArguments {
  @Option(
    name: .customLong("data"),
    help: ArgumentHelp(
      "Data set folder: MNIST/Fashion-MNIST IDX files, CIFAR-10 binary batches, or one "
        + "sub-folder of PNG/JPEG images per class (optionally under train/ and test/).",
      valueName: "dir"))
  var folder: String

  @Option(
    name: .customLong("data-format"),
    help: "Force the data set format instead of detecting it.")
  var format: DatasetFormat?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "Use only the first N samples of each split (quick runs).",
      valueName: "n"))
  var limit: Int?

  func validate() throws {
    if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
  }
}

extension DataOptions {
  /// Reads the data set for a model with `spec`'s input: image folders are
  /// converted to its channel count (and shuffled with `seed`); `--limit`
  /// keeps the first N samples of each split. Shapes are checked later, by
  /// the trainer, against the model.
  func load(for spec: ModelSpec, seed: UInt64) throws -> DatasetSplits {
    var channels: Int?
    if case .image(_, _, let c) = spec.input, c == 1 || c == 3 { channels = c }
    return try DatasetSplits.load(
      folder, format: format, channels: channels, seed: seed, limit: limit)
  }

  /// How model files and messages name the data: its format and folder.
  func describe(_ splits: DatasetSplits) -> String { "\(splits.format) \(folder)" }
}

extension Dataset {
  /// The samples as the engine's labelled data (no copy: storage is shared).
  var labeled: LabeledData { LabeledData(images: images, labels: labels) }
}
