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

  @OptionGroup var decoding: DecodingOptions
  @OptionGroup var folderReading: ImageFolderOptions

  func validate() throws {
    if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
  }
}

extension DataOptions {
  /// How model files and messages name the data: its format and folder.
  func describe(_ splits: DatasetSplits) -> String { "\(splits.format) \(folder)" }
}
