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
    commandName: "predict",
    abstract: "Classify images with a trained model and print the top classes.",
    discussion: """
      Each IMAGE is a PNG, JPEG or PNM file, a folder of them, or one image of an MNIST IDX \
      file written mnist:PATH#INDEX (0-based). Images of another size are resized as \
      --resize says (by default as in training); colour and gray are converted to the \
      model's channels, then --scale, --channel-order, --mean and --std (or --preprocess \
      imagenet) bring the values to what the model was trained on (by default what the \
      model file records, else [0, 1]). .npy files of input tensors are fed as they are \
      (N×C×H×W or N×H×W×C, see --layout); each sample is named FILE[i]. Prints one line per image: its top classes with their \
      probabilities, most likely first. --format json or csv prints every class's score \
      (the logits under a final softmax) and probability instead, at full precision \
      (docs/results.md).
      """)

  @Argument(help: ModelArgument.help)
  var model: String

  @Argument(
    help: ArgumentHelp(
      "PNG, JPEG or PNM files, folders of them, or mnist:PATH#INDEX; or .npy input tensors.",
      valueName: "image"))
  var images: [String]

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("How many classes to show per image.", valueName: "k"))
  var top = 3

  @Option(help: "How to print the results on stdout.")
  var format = ResultFormat.text

  @OptionGroup var input: ModelInputOptions

  @OptionGroup var layout: TensorLayoutOption

  @Option(
    help: ArgumentHelp(
      "A text file naming the model's classes, one per line in output order (default: the "
        + "names the model file stores; else class numbers).", valueName: "file"))
  var labels: String?

  @Option(help: ArgumentHelp("Samples per forward pass.", valueName: "n"))
  var batchSize = 100

  @Flag(
    help: """
      Print `timing load|forward N ms` lines on stderr: reading the model, and each \
      forward pass of a batch (see --batch-size); a `timing kernels` line naming \
      the kernels (oneDNN's instruction set, OpenBLAS's core); and after the passes, \
      one `timing op KIND N ms` line per kind of step (an operation with those folded \
      into it) and kernel, most time first: its mean time per pass (the first pass, \
      which sets the kernels up, left out when there are several), its share of the \
      steps' time, its steps per pass and the kernel that ran it.
      """)
  var timings = false

  @OptionGroup var threads: ThreadOptions

  @OptionGroup var decoding: DecodingOptions

  @OptionGroup var memory: MemoryOptions
  @OptionGroup var architecture: ArchitectureOption

  func validate() throws {
    guard !images.isEmpty else { throw ValidationError("give at least one image") }
    guard top >= 1 else { throw ValidationError("--top must be at least 1") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    let tensors = images.filter(NumPyInput.names)
    if !tensors.isEmpty && tensors.count != images.count {
      throw ValidationError("give images or .npy tensors, not both")
    }
    if tensors.isEmpty && layout.layout != nil {
      throw ValidationError("--layout applies to .npy inputs")
    }
    if !tensors.isEmpty && (input.setsValues || input.resize != nil) {
      throw ValidationError(
        ".npy inputs are fed as they are: --resize, --mean, --std, --scale, --channel-order "
          + "and --preprocess apply to images")
    }
  }

  /// Like `filter`, an image that cannot be read or does not fit is
  /// reported with one line and the others are still predicted; the exit
  /// status is 1 when any failed.
  func run() throws {
    threads.apply()
    var watch = Stopwatch()
    let opened = try ModelArgument.loadModel(
      model, memory: memory, input: input, architecture: architecture.architecture)
    if timings {
      Terminal.diagnostic("timing load \(TextFormat.fixed(watch.lap(), 3)) ms")
      Terminal.diagnostic("timing kernels \(ProcessSettings.kernelDescription)")
    }
    let names = try labels.map { try ClassNamesFile.read($0) } ?? opened.classNames
    if let labels, names.count != opened.classCount {
      throw CommandFailure(
        "\(labels): \(plural(names.count, "name")), but the model has "
          + (opened.classCount.map { plural($0, "class score") } ?? "no class scores"))
    }
    if images.allSatisfy(NumPyInput.names) {
      try predictTensors(opened, names: names)
      return
    }
    guard case .image(let height, let width, let channels) = opened.input,
      channels == 1 || channels == 3
    else {
      throw CommandFailure("\(model): the model does not take 1- or 3-channel images")
    }
    let inputs = try InputImage.expand(images)
    try memory.check(
      Self.memoryEstimate(opened, imageCount: inputs.count, batchSize: batchSize),
      for: "\(model): predicting \(plural(inputs.count, "image"))")
    let (mode, preprocessing) = try input.settings(for: opened, path: model)
    var samples: [Tensor] = []
    var loaded: [InputImage] = []
    for input in inputs {
      do {
        samples.append(
          try Self.modelInput(
            try input.load(options: decoding.decodeOptions), path: input.path,
            channels: channels, height: height, width: width, resize: mode,
            preprocessing: preprocessing))
        loaded.append(input)
      } catch {
        Terminal.error(CommandFailure(error).description)
      }
    }
    if !loaded.isEmpty {
      try report(
        Tensor.concatenatingSamples(samples), names: loaded.map(\.path), model: opened,
        classNames: names)
    }
    let failed = inputs.count - loaded.count
    if failed > 0 { throw CommandFailure.summary(failed: failed, of: inputs.count, noun: "image") }
  }

  /// The samples of every `.npy` file, named `FILE[i]`, as given.
  private func predictTensors(_ opened: LoadedModel, names: [String]) throws {
    let order = layout.layout(for: opened)
    var batches: [Tensor] = []
    var sampleNames: [String] = []
    for path in images {
      let batch = try NumPyInput.samples(path, model: opened, layout: order, memory: memory)
      try memory.check(
        Self.memoryEstimate(
          opened, imageCount: sampleNames.count + batch.batchCount, batchSize: batchSize),
        for: "\(path): predicting \(plural(batch.batchCount, "sample"))")
      batches.append(batch)
      sampleNames += (0..<batch.batchCount).map { "\(path)[\($0)]" }
    }
    try report(
      Tensor.concatenatingSamples(batches), names: sampleNames, model: opened, classNames: names)
  }

  /// Prints the top classes (text) or every score (json, csv) of each
  /// sample of `batch`, named by `names`.
  private func report(
    _ batch: Tensor, names: [String], model opened: LoadedModel, classNames: [String]
  ) throws {
    var network = opened.network
    if timings { network.stepProfile = StepProfile() }
    var watch = Stopwatch()
    /// `body` on each batch of `batchSize` samples, timed with --timings.
    func batches<T>(_ body: (Tensor) throws -> T) throws -> [T] {
      try stride(from: 0, to: batch.batchCount, by: batchSize).map { start in
        let part = batch.samples(start..<min(start + batchSize, batch.batchCount))
        _ = watch.lap()
        // The first pass makes oneDNN's primitives: profile the others
        // when there are several.
        if timings, start == batchSize { network.stepProfile = StepProfile() }
        let result = try body(part)
        if timings {
          Terminal.diagnostic(
            "timing forward \(TextFormat.fixed(watch.lap(), 3)) ms "
              + "(batch of \(part.batchCount))")
        }
        return result
      }
    }
    if format == .text {
      let ranked = try batches {
        try network.topClasses($0, k: top, classNames: classNames, batchSize: batchSize)
      }
      for (name, classes) in zip(names, ranked.joined()) {
        Terminal.say(name + ": " + Self.format(classes))
      }
    } else {
      let parts = try batches { try network.scores($0, batchSize: batchSize) }
      let scores = ImageScores(
        scores: Tensor.concatenatingSamples(parts.map(\.scores)),
        probabilities: Tensor.concatenatingSamples(parts.map(\.probabilities)),
        scoresAreLogits: parts[0].scoresAreLogits)
      Terminal.sayLines(
        format == .json
          ? Self.json(scores, images: names, classNames: classNames, k: top, model: model)
            .rendered()
          : Self.csv(scores, images: names, classNames: classNames))
    }
    if let profile = network.stepProfile {
      for line in Self.profileLines(profile) { Terminal.diagnostic(line) }
    }
  }

  /// `timing op KIND MS ms (SHARE%, STEPS steps, KERNEL)` for each entry
  /// of `profile`, most time first, times and steps per pass.
  static func profileLines(_ profile: StepProfile) -> [String] {
    let runs = Double(max(profile.runs, 1))
    let total = profile.totalMilliseconds
    return profile.byTime.map { entry in
      let share = total > 0 ? 100 * entry.milliseconds / total : 0
      let steps = Double(entry.steps) / runs
      let stepText = steps == steps.rounded() ? String(Int(steps)) : TextFormat.fixed(steps, 1)
      return "timing op \(entry.kind) \(TextFormat.fixed(entry.milliseconds / runs, 3)) ms "
        + "(\(TextFormat.fixed(share, 1))%, \(stepText) steps, \(entry.kernel))"
    }
  }

  /// The images' tensor (and the samples it is joined from), the network
  /// on batches of up to `batchSize` of them (100, as `Sequential.predict`
  /// runs it, unless --batch-size says otherwise) and the scores.
  static func memoryEstimate(
    _ model: LoadedModel, imageCount: Int, batchSize: Int = 100
  ) -> MemoryEstimate {
    model.inferenceMemory(batchSize: min(imageCount, batchSize))
      + .floats(imageCount, model.input.count) * 2
      + .floats(imageCount, model.network.outputShape.count) * 2
  }

  /// The model's input for one image (1, channels, height, width), through
  /// the conversion every command shares.
  static func modelInput(
    _ image: Image, path: String, channels: Int, height: Int, width: Int, resize: ResizeMode,
    preprocessing: Preprocessing = .standard
  ) throws -> Tensor {
    guard
      let input = PixelConversion.tensor(
        of: image, channels: channels, height: height, width: width, resize: resize,
        preprocessing: preprocessing)
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
