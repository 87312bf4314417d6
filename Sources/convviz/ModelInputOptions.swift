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

extension Preprocessing.PixelScale: ExpressibleByArgument {}
extension Preprocessing.ChannelOrder: ExpressibleByArgument {}

/// Named preprocessing presets (`--preprocess`).
enum PreprocessPreset: String, ExpressibleByArgument, CaseIterable {
  /// torchvision's ImageNet classifiers (`Preprocessing.imagenet`).
  case imagenet
}

/// An input size `HxW`, `--size 224x224`.
struct InputSize: Equatable {
  var height: Int
  var width: Int

  static func parse(_ text: String) throws -> InputSize {
    let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
    guard parts.count == 2, let h = Int(parts[0]), let w = Int(parts[1]), h >= 1, w >= 1,
      h <= 65_536, w <= 65_536
    else {
      throw ValidationError("--size must be HxW with positive sizes, such as 224x224; got \(text)")
    }
    return InputSize(height: h, width: w)
  }
}

/// How images become a model's input, for every command that feeds images
/// to one (`predict`, `evaluate`, `featuremaps`, `explain`, `report`):
/// the size and resize mode, then the values (`Preprocessing`), all
/// applied by `Datasets.PixelConversion`. Flags override what the model
/// file records; a file that records nothing gets convviz's own
/// conversion (values in [0, 1], RGB).
struct ModelInputOptions: ParsableArguments {
  @OptionGroup var resizeOption: ResizeOption
  var resize: ResizeMode? { resizeOption.resize }

  @Option(
    help: ArgumentHelp(
      "The model's input size, for models whose file leaves height and width open (ONNX "
        + "models exported with dynamic axes).", valueName: "HxW"),
    transform: InputSize.parse)
  var size: InputSize?

  @Option(
    help: ArgumentHelp(
      "Subtract from each channel (after --scale and --channel-order), e.g. "
        + "0.485,0.456,0.406; one value for all channels or one per channel.",
      valueName: "R,G,B"),
    transform: Self.channelValues("--mean"))
  var mean: ChannelValues?

  @Option(
    help: ArgumentHelp(
      "Then divide each channel by this, e.g. 0.229,0.224,0.225.", valueName: "R,G,B"),
    transform: Self.channelValues("--std"))
  var std: ChannelValues?

  @Option(
    help: ArgumentHelp(
      "The range of pixel values before --mean and --std: 1 for [0, 1] (convviz, "
        + "torchvision, Keras x/255), 255 for [0, 255] (Caffe-style models).",
      valueName: "1|255"))
  var scale: Preprocessing.PixelScale?

  @Option(
    help: ArgumentHelp(
      "Channel order of a colour input (Caffe and OpenCV models take bgr).",
      valueName: "rgb|bgr"))
  var channelOrder: Preprocessing.ChannelOrder?

  @Option(
    help: ArgumentHelp(
      "A named preprocessing: imagenet is torchvision's Resize(256), CenterCrop(224), "
        + "ToTensor, Normalize(mean 0.485,0.456,0.406, std 0.229,0.224,0.225), with a "
        + "224x224 input when the model leaves the size open. Other flags override its parts.",
      valueName: "name"))
  var preprocess: PreprocessPreset?

  /// Comma-separated numbers, one per channel.
  struct ChannelValues: Equatable {
    var values: [Float]
  }

  static func channelValues(_ option: String) -> @Sendable (String) throws -> ChannelValues {
    { text in
      guard let values = Preprocessing.values(text) else {
        throw ValidationError(
          "\(option) must be comma-separated numbers such as 0.485,0.456,0.406; got \(text)")
      }
      if option == "--std", values.contains(0) {
        throw ValidationError("--std must not hold 0 (values are divided by it)")
      }
      return ChannelValues(values: values)
    }
  }

  /// The height and width to give a model whose file leaves them open:
  /// `--size`, else the preset's.
  var inputSize: InputSize? {
    size
      ?? (preprocess == .imagenet
        ? InputSize(height: Preprocessing.imagenetInputSide, width: Preprocessing.imagenetInputSide)
        : nil)
  }

  /// Whether any flag sets a value (`--size`, `--resize` aside).
  var setsValues: Bool {
    mean != nil || std != nil || scale != nil || channelOrder != nil || preprocess != nil
  }

  /// The resize mode and preprocessing for `model`: the model file's,
  /// then the preset's, then each flag's. Throws a usage error when
  /// `--size` contradicts a size the model fixes or `--mean`/`--std` do
  /// not fit its channels.
  func settings(
    for model: LoadedModel, path: String
  ) throws -> (resize: ResizeMode, preprocessing: Preprocessing) {
    var mode = model.resize
    var values = model.preprocessing
    let input = model.input
    if preprocess == .imagenet {
      values = .imagenet
      mode = .fill
      // The same 256/224 margin for another input size.
      if case .image(let h, let w, _) = input, min(h, w) != Preprocessing.imagenetInputSide {
        values.shorterSide = Int(
          (Double(min(h, w)) * 256 / Double(Preprocessing.imagenetInputSide)).rounded())
      }
    }
    if let resize { mode = resize }
    if let mean { values.mean = mean.values }
    if let std { values.std = std.values }
    if let scale { values.scale = scale }
    if let channelOrder { values.channelOrder = channelOrder }
    if case .image(let h, let w, let channels) = input {
      if let size, size != InputSize(height: h, width: w) {
        throw CommandFailure.usage(
          "--size \(size.height)x\(size.width), but \(path) fixes its input at \(h)x\(w)")
      }
      if let problem = values.mismatch(channels: channels) {
        throw CommandFailure.usage("\(path): \(problem)")
      }
    }
    return (mode, values)
  }
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

  /// The data set in `folder` shaped for a model taking `input`
  /// (`shorterSide`: see `Preprocessing.shorterSide`).
  func load(
    _ folder: String, format: DatasetFormat? = nil, limit: Int?, for input: FeatureShape,
    resize: ResizeMode, shorterSide: Int? = nil, seed: UInt64, decodeOptions: DecodeOptions,
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
      size: SampleSize(height: height, width: width, resize: resize, shorterSide: shorterSide),
      seed: seed,
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
    for input: FeatureShape, resize: ResizeMode, shorterSide: Int? = nil, seed: UInt64,
    labels: LabelsOption
  ) throws
    -> DatasetSplits
  {
    try labels.load(
      folder, format: format, limit: limit, for: input, resize: resize,
      shorterSide: shorterSide, seed: seed,
      decodeOptions: decoding.decodeOptions, folderOptions: folderReading)
  }

  /// `--data` for the loaded `model` at `path`, sized as `input` says
  /// (`ModelInputOptions.settings`), with the preprocessing that goes
  /// with it.
  func load(
    for model: LoadedModel, path: String, input: ModelInputOptions, labels: LabelsOption
  ) throws -> (splits: DatasetSplits, preprocessing: Preprocessing) {
    let (mode, preprocessing) = try input.settings(for: model, path: path)
    let splits = try load(
      for: model.input, resize: mode, shorterSide: preprocessing.shorterSide, seed: model.seed,
      labels: labels)
    return (splits, preprocessing)
  }

  /// The samples to study a trained model on: the test split of `--data`
  /// when it has one, else all of it, preprocessed for `model` (see
  /// `load(for:path:input:labels:)`).
  func heldOutSamples(
    for model: LoadedModel, path: String, input: ModelInputOptions, labels: LabelsOption
  ) throws -> (splits: DatasetSplits, samples: Dataset, preprocessing: Preprocessing) {
    let (splits, preprocessing) = try load(for: model, path: path, input: input, labels: labels)
    var samples = splits.test ?? splits.train
    samples.preprocessing = preprocessing
    return (splits, samples, preprocessing)
  }
}
