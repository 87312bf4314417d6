import ArgumentParser
import Datasets
import ImageCodecs
import ModelFormats
import Tensors

extension ResizeMode: ExpressibleByArgument {}

/// `--resize`, for every command that feeds images to a model.
struct ResizeOption: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "How images of another size are brought to the model's input: fill (scale until the "
        + "shorter side fits, then crop the centre), fit (scale until the whole image fits, "
        + "pad with black), stretch, or none (refuse other sizes). Default: the mode recorded "
        + "in the model file (fill for new models).", valueName: "mode"))
  var resize: ResizeMode?
}

/// `--architecture`, for every command that takes a model: the layers of a
/// weights-only Keras file, which stores none.
struct ArchitectureOption: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "For a Keras weights-only file (save_weights): a preset or model spec file with the "
        + "same layers, in order.", valueName: "spec"))
  var architecture: String?
}

/// `--labels`: names for the data set's classes.
struct LabelsOption: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "A text file naming the data set's classes, one per line in label order (IDX files "
        + "store no names; with names, classes are matched to the model's by name).",
      valueName: "file"))
  var labels: String?
}

/// `--ignore-unknown-classes`, for commands that score a model on data.
struct UnknownClassesOption: ParsableArguments {
  @Flag(
    help: "Skip (and count) samples of classes the model does not know, instead of failing.")
  var ignoreUnknownClasses = false
}

extension LabelsOption {
  /// Reads the data set in `folder`: images converted to `channels` (nil:
  /// image folders keep their own, gray or colour) and brought to `size`,
  /// with the classes named by `--labels` when given. Image folders are
  /// shuffled with `seed` and decoded with `decodeOptions` (damaged images a
  /// lenient decode accepted are warned about); `limit` keeps the first N
  /// samples of each split.
  func load(
    _ folder: String, format: DatasetFormat? = nil, limit: Int?, channels: Int?,
    size: SampleSize?, seed: UInt64, decodeOptions: DecodeOptions,
    folderOptions: ImageFolderOptions
  ) throws -> DatasetSplits {
    let progress = DecodingProgress()
    let splits: DatasetSplits
    do {
      defer { progress.finish() }
      splits = try DatasetSplits.load(
        folder, format: format, channels: channels, seed: seed, limit: limit, size: size,
        decodeOptions: decodeOptions, reading: folderOptions.reading(progress: progress))
    }
    for note in splits.notes { Terminal.note(note) }
    for warning in splits.warnings { Terminal.warn(warning.description) }
    for skipped in splits.skipped { Terminal.warn("skipped \(skipped)") }
    if !splits.skipped.isEmpty {
      Terminal.note("\(plural(splits.skipped.count, "image")) skipped (--skip-bad)")
    }
    guard let labels else { return splits }
    return try splits.renamingClasses(ClassNamesFile.read(labels), from: labels)
  }

  /// The data set in `folder` shaped for a model with `spec`'s input.
  func load(
    _ folder: String, format: DatasetFormat? = nil, limit: Int?, for spec: ModelSpec,
    resize: ResizeMode, seed: UInt64, decodeOptions: DecodeOptions,
    folderOptions: ImageFolderOptions
  ) throws -> DatasetSplits {
    try load(
      folder, format: format, limit: limit, for: spec.input, resize: resize, seed: seed,
      decodeOptions: decodeOptions, folderOptions: folderOptions)
  }

  /// The data set in `folder` shaped for a model taking `input`.
  func load(
    _ folder: String, format: DatasetFormat? = nil, limit: Int?, for input: FeatureShape,
    resize: ResizeMode, seed: UInt64, decodeOptions: DecodeOptions,
    folderOptions: ImageFolderOptions
  ) throws -> DatasetSplits {
    guard case .image(let height, let width, let channels) = input else {
      return try load(
        folder, format: format, limit: limit, channels: nil, size: nil, seed: seed,
        decodeOptions: decodeOptions, folderOptions: folderOptions)
    }
    return try load(
      folder, format: format, limit: limit,
      channels: channels == 1 || channels == 3 ? channels : nil,
      size: SampleSize(height: height, width: width, resize: resize), seed: seed,
      decodeOptions: decodeOptions, folderOptions: folderOptions)
  }
}

extension DataOptions {
  /// `--data` read by `LabelsOption.load`, with `--format` and `--limit`.
  func load(
    channels: Int?, size: SampleSize?, seed: UInt64, labels: LabelsOption
  ) throws
    -> DatasetSplits
  {
    try labels.load(
      folder, format: format, limit: limit, channels: channels, size: size, seed: seed,
      decodeOptions: decoding.decodeOptions, folderOptions: folderReading)
  }

  /// `--data` shaped for a model with `spec`'s input.
  func load(
    for spec: ModelSpec, resize: ResizeMode, seed: UInt64, labels: LabelsOption
  ) throws
    -> DatasetSplits
  {
    try load(for: spec.input, resize: resize, seed: seed, labels: labels)
  }

  /// `--data` shaped for a model taking `input`.
  func load(
    for input: FeatureShape, resize: ResizeMode, seed: UInt64, labels: LabelsOption
  ) throws
    -> DatasetSplits
  {
    try labels.load(
      folder, format: format, limit: limit, for: input, resize: resize, seed: seed,
      decodeOptions: decoding.decodeOptions, folderOptions: folderReading)
  }
}
