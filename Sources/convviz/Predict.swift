import ArgumentParser
import Engine
import ModelFormats
import Training
import Datasets
import ImageCodecs
import Tensors

/// `convviz predict model.bin IMAGE...`: the most likely classes of each image.
struct Predict: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Classify images with a trained model and print the top classes.",
    discussion: """
      Each IMAGE is a PNG or JPEG file, a folder of them, or one image of an MNIST IDX \
      file written mnist:PATH#INDEX (0-based). Images of another size are resized as \
      --resize says (by default as in training); colour and gray are converted to the \
      model's channels. Prints one line per image: its top classes with their \
      probabilities, most likely first. --format json or csv prints every class's score \
      (the logits under a final softmax) and probability instead, at full precision \
      (docs/results.md).
      """)

  @Argument(
    help: ArgumentHelp(
      "A model file written by `convviz train`, an ONNX model, or a Keras model (.keras, .h5).",
      valueName: "model"))
  var model: String

  @Argument(
    help: ArgumentHelp(
      "PNG or JPEG files, folders of them, or mnist:PATH#INDEX.", valueName: "image"))
  var images: [String]

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("How many classes to show per image.", valueName: "k"))
  var top = 3

  @Option(help: "How to print the results on stdout.")
  var format = ResultFormat.text

  @OptionGroup var resize: ResizeOption

  @Option(
    help: ArgumentHelp(
      "A text file naming the model's classes, one per line in output order (default: the "
        + "names the model file stores; else class numbers).", valueName: "file"))
  var labels: String?

  @OptionGroup var decoding: DecodingOptions

  @OptionGroup var memory: MemoryOptions
  @OptionGroup var architecture: ArchitectureOption

  func validate() throws {
    guard !images.isEmpty else { throw ValidationError("give at least one image") }
    guard top >= 1 else { throw ValidationError("--top must be at least 1") }
  }

  /// Like `filter`, an image that cannot be read or does not fit is
  /// reported with one line and the others are still predicted; the exit
  /// status is 1 when any failed.
  func run() throws {
    let opened = try ModelArgument.loadModel(
      model, memory: memory, architecture: architecture.architecture)
    guard case .image(let height, let width, let channels) = opened.input,
      channels == 1 || channels == 3
    else {
      throw CommandFailure("\(model): the model does not take 1- or 3-channel images")
    }
    let inputs = try InputImage.expand(images)
    try memory.check(
      Self.memoryEstimate(opened, imageCount: inputs.count),
      for: "\(model): predicting \(plural(inputs.count, "image"))")
    let mode = resize.resize ?? opened.resize
    let names = try labels.map { try ClassNamesFile.read($0) } ?? opened.classNames
    if let labels, names.count != opened.classCount {
      throw CommandFailure(
        "\(labels): \(plural(names.count, "name")), but the model has "
          + (opened.classCount.map { plural($0, "class score") } ?? "no class scores"))
    }
    var samples: [Tensor] = []
    var loaded: [InputImage] = []
    for input in inputs {
      do {
        samples.append(
          try Self.modelInput(
            try input.load(options: decoding.decodeOptions), path: input.path,
            channels: channels,
            height: height, width: width, resize: mode))
        loaded.append(input)
      } catch {
        Terminal.error(CommandFailure(error).description)
      }
    }
    if !loaded.isEmpty {
      var network = opened.network
      let batch = Tensor.concatenatingSamples(samples)
      if format == .text {
        let ranked = try network.topClasses(batch, k: top, classNames: names)
        for (input, classes) in zip(loaded, ranked) {
          Terminal.say(input.path + ": " + Self.format(classes))
        }
      } else {
        let scores = try network.scores(batch)
        let paths = loaded.map(\.path)
        Terminal.sayLines(
          format == .json
            ? Self.json(scores, images: paths, classNames: names, k: top, model: model)
              .rendered()
            : Self.csv(scores, images: paths, classNames: names))
      }
    }
    let failed = inputs.count - loaded.count
    if failed > 0 { throw CommandFailure.summary(failed: failed, of: inputs.count, noun: "image") }
  }

  /// The images' tensor (and the samples it is joined from), the network
  /// on batches of up to 100 of them (as `Sequential.predict` runs it) and
  /// the scores.
  static func memoryEstimate(_ model: LoadedModel, imageCount: Int) -> MemoryEstimate {
    model.inferenceMemory(batchSize: min(imageCount, 100))
      + .floats(imageCount, model.input.count) * 2
      + .floats(imageCount, model.network.outputShape.count) * 2
  }

  /// The model's input for one image (1, channels, height, width), through
  /// the conversion every command shares.
  static func modelInput(
    _ image: Image, path: String, channels: Int, height: Int, width: Int, resize: ResizeMode
  ) throws -> Tensor {
    guard
      let input = PixelConversion.tensor(
        of: image, channels: channels, height: height, width: width, resize: resize)
    else {
      throw CommandFailure(
        "\(path): image is \(image.width)×\(image.height) but the model takes "
          + "\(width)×\(height) images; resize with --resize fill, fit or stretch")
    }
    return input
  }

  /// `7 0.9981  2 0.0012  3 0.0004`: the `k` best classes, ties by index.
  static func topClasses(_ scores: [Float], names: [String], k: Int) -> String {
    format(ClassProbability.ranked(scores, k: k, classNames: names))
  }

  /// Names (class numbers when the model stores none) with probabilities.
  static func format(_ classes: [ClassProbability]) -> String {
    classes.map {
      "\($0.label ?? String($0.classIndex)) \(TextFormat.fixed(Double($0.probability), 4))"
    }.joined(separator: "  ")
  }
}
