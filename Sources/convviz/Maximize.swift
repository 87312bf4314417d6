import ArgumentParser
import Engine
import Explain
import Files
import ImageCodecs
import ModelFormats
import Tensors
import Visualization

/// `convviz maximize MODEL --layer NODE`: the input that most excites each
/// unit, by gradient ascent.
struct Maximize: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "maximize",
    abstract: "Draw the input that most excites each unit of a layer (activation maximization).",
    discussion: """
      For each unit (channel) of --layer (--units, default all), or each class with \
      --class, optimises an image by gradient ascent (Adam, --lr) on the mean of the \
      unit's maps or on the class score (the logit under a final softmax). The image is a \
      sigmoid of its parameters: one per pixel (--param pixel) or Lucid's decorrelated \
      Fourier coefficients (--param fft). Each step the network sees it shifted by up to \
      --jitter pixels, scaled by 1 ± --scale and rotated by ± --rotate degrees; --tv and \
      --l2 add total-variation and L2 penalties, --blur a Gaussian blur of pixel \
      parameters after each step. The same --seed gives the same bytes. Writes one grid \
      of every unit's image (-o, default output/MODEL-maximize-LAYER.png), small inputs \
      upscaled for display.
      """)

  @Argument(help: ModelArgument.help)
  var model: String

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "The layer whose units to maximize: a row number of `convviz summary` or a graph "
        + "tensor name, with (channels, height, width) output.", valueName: "node"))
  var layer: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "Units (channels) of --layer: 0,5,9 or 0-15 (default all).", valueName: "list"))
  var units: String?

  @Option(
    name: .customLong("class"), parsing: .unconditional,
    help: ArgumentHelp(
      "Maximize class scores instead of a layer: 3, or 0,5,9, or 0-9.", valueName: "list"))
  var classes: String?

  @Option(name: .customLong("param"), help: "How the image is parameterized.")
  var parameterization = MaximizationSettings.Parameterization.fft

  @Option(parsing: .unconditional, help: ArgumentHelp("Gradient steps.", valueName: "n"))
  var steps = 256

  @Option(name: .customLong("lr"), parsing: .unconditional, help: "Adam's learning rate.")
  var learningRate: Float = 0.05

  @Option(parsing: .unconditional, help: "Seed of the start and of the transforms.")
  var seed: UInt64 = 0

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "Image size, N or HxW: for ONNX models that leave it open, and for models whose "
        + "layers accept other sizes (default the model's).",
      valueName: "size"))
  var size: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "Largest random shift per step, pixels (default 1 for each 16 pixels of the side).",
      valueName: "px"))
  var jitter: Int?

  @Option(
    name: .customLong("scale"), parsing: .unconditional,
    help: ArgumentHelp("Random scale per step: 1 ± this.", valueName: "f"))
  var scaleRange: Float = 0.05

  @Option(
    name: .customLong("rotate"), parsing: .unconditional,
    help: ArgumentHelp("Random rotation per step: ± this many degrees.", valueName: "deg"))
  var rotation: Float = 5

  @Option(
    name: .customLong("tv"), parsing: .unconditional,
    help: ArgumentHelp("Weight of the total-variation penalty.", valueName: "w"))
  var totalVariation: Float = 0

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Weight of the L2 penalty (distance from grey).", valueName: "w"))
  var l2: Float = 0

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "Blur pixel parameters by a Gaussian of this sigma after each step (0: off).",
      valueName: "px"))
  var blur: Float = 0

  @OptionGroup var memory: MemoryOptions
  @OptionGroup var threads: ThreadOptions

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "The grid picture (default output/MODEL-maximize-LAYER.png).", valueName: "file"))
  var output: String?

  func validate() throws {
    switch (layer, classes) {
    case (nil, nil): throw ValidationError("give --layer NODE (with --units) or --class LIST")
    case (.some, .some): throw ValidationError("give --layer or --class, not both")
    default: break
    }
    if units != nil, layer == nil { throw ValidationError("--units needs --layer") }
    if let units { _ = try LayerArgument.indices(units, option: "--units") }
    if let classes { _ = try LayerArgument.indices(classes, option: "--class") }
    guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
    guard learningRate > 0, learningRate.isFinite else {
      throw ValidationError("--lr must be a positive number")
    }
    if let jitter, jitter < 0 { throw ValidationError("--jitter must be 0 or more") }
    guard scaleRange >= 0, scaleRange < 1 else { throw ValidationError("--scale must be in 0…1") }
    for (value, option) in [
      (rotation, "--rotate"), (totalVariation, "--tv"), (l2, "--l2"), (blur, "--blur"),
    ] where !(value >= 0 && value.isFinite) {
      throw ValidationError("\(option) must be a finite number, 0 or more")
    }
    if let size { _ = try Self.parseSize(size) }
    let picture = try SingleOutput(output, defaultPath: "output/maximize.png").path ?? ""
    try NamedPath.refuseCollisions(
      outputs: [NamedPath(role: "the picture (-o)", path: picture)],
      inputs: [NamedPath(role: "the model", path: model)])
  }

  /// "28" or "32x24" (height × width).
  static func parseSize(_ text: String) throws -> (height: Int, width: Int) {
    let parts = text.lowercased().split(separator: "x").map { Int($0) }
    guard (1...2).contains(parts.count), parts.allSatisfy({ ($0 ?? 0) >= 1 }) else {
      throw ValidationError("--size \(text): give N or HxW, each at least 1")
    }
    return (parts[0] ?? 1, parts[parts.count - 1] ?? 1)
  }

  func run() throws {
    threads.apply()
    // An ONNX model that leaves its size open is built at --size.
    let sized = try size.map(Self.parseSize).map { ["--size", "\($0.height)x\($0.width)"] } ?? []
    let loaded = try ModelArgument.loadModel(
      model, memory: memory, input: try ModelInputOptions.parse(sized))
    var explainer = Explainer(network: loaded.network, batchSize: 16)
    let modelShape = loaded.network.inputShape
    guard modelShape.rank == 3, modelShape[0] == 1 || modelShape[0] == 3 else {
      throw CommandFailure("\(model): the model does not take 1- or 3-channel images")
    }
    let (height, width) = try size.map(Self.parseSize) ?? (modelShape[1], modelShape[2])
    let shape = Shape(modelShape[0], height, width)
    let objective: MaximizationObjective
    let chosen: [Int]?
    let subject: String
    if let layer {
      let name = try LayerArgument.resolve(layer, in: explainer, spec: loaded.spec)
      objective = .channel(layer: name)
      chosen = try units.map { try LayerArgument.indices($0, option: "--units") }
      subject = name
    } else {
      objective = .classScore
      chosen = try classes.map { try LayerArgument.indices($0, option: "--class") }
      subject = "classes"
    }
    let count: Int
    do {
      count = try explainer.unitCount(of: objective, inputShape: shape)
    } catch {
      throw CommandFailure.usage(error.description)
    }
    let list = chosen ?? Array(0..<count)
    if let bad = list.first(where: { $0 >= count }) {
      throw CommandFailure.usage(
        objective == .classScore
          ? ExplainError.classOutOfRange(bad, classCount: count).description
          : ExplainError.unitOutOfRange(bad, unitCount: count, layer: layer ?? subject)
            .description)
    }
    let perSample = loaded.network.graph.tensorShapes.map { MemoryEstimate.floats($0.count) }
    try memory.check(
      .floats(loaded.network.parameterCount) + .sum(perSample) * (2 * explainer.batchSize),
      for: "\(model): maximizing \(plural(list.count, "unit"))")
    let defaultPath =
      "output/\(OutputPaths.stem(of: model))-maximize-\(OutputPaths.fileNamePart(subject)).png"
    let picture = try SingleOutput(output, defaultPath: defaultPath)
    try picture.prepare()

    var settings = MaximizationSettings()
    settings.steps = steps
    settings.learningRate = learningRate
    settings.seed = seed
    settings.parameterization = parameterization
    settings.jitter = jitter ?? max(1, max(height, width) / 16)
    settings.scaleRange = scaleRange
    settings.rotation = rotation
    settings.totalVariation = totalVariation
    settings.l2 = l2
    settings.blur = blur
    settings.preprocessing = loaded.preprocessing
    let batches = (list.count + settings.batchSize - 1) / settings.batchSize
    let progress = ProgressBar(label: "maximize", total: steps * batches, minimumSteps: 2)
    var watch = Stopwatch()
    let results = try explainer.maximize(objective, units: list, shape: shape, settings: settings) {
      progress.update(done: $0)
    }
    progress.finish()
    let seconds = watch.lap() / 1000
    let names =
      loaded.classNames.count == count && objective == .classScore ? loaded.classNames : []
    for result in results {
      let tenth = max(1, result.history.count / 10)
      let first = result.history.prefix(tenth).reduce(0, +) / Float(tenth)
      let last = result.history.suffix(tenth).reduce(0, +) / Float(tenth)
      Terminal.say(
        "\(objective == .classScore ? "class" : "unit") \(result.unit): objective "
          + "\(TextFormat.fixed(Double(first), 4)) → \(TextFormat.fixed(Double(last), 4)) "
          + "(mean of the first and last tenth of the steps)")
    }
    try PictureFile.write(
      Self.grid(results, classNames: names, height: height, width: width), to: picture.path ?? "")
    Terminal.say(
      "wrote \(picture.name) (\(plural(results.count, "image")), \(steps) steps, "
        + "\(TextFormat.fixed(seconds, 1)) s)")
  }

  /// One tile per unit, each stretched to its own range, small inputs
  /// upscaled to about 128 pixels.
  static func grid(
    _ results: [MaximizedInput], classNames: [String], height: Int, width: Int
  )
    -> Image
  {
    let tiles = results.map { result -> GridTile in
      let plane = height * width
      let label = result.unit < classNames.count ? classNames[result.unit] : "\(result.unit)"
      let s = result.image.storage
      if result.image.shape[0] == 3 {
        return GridTile(
          width: width, height: height, red: Array(s[0..<plane]),
          green: Array(s[plane..<(2 * plane)]), blue: Array(s[(2 * plane)..<(3 * plane)]),
          label: label)
      }
      return GridTile(width: width, height: height, values: s, label: label)
    }
    var grid = Grid(tiles: tiles)
    grid.normalization = .each
    grid.labels = .custom
    grid.scale = max(1, 128 / max(height, width))
    grid.shrink(toWidth: Grid.defaultMaxWidth)
    return grid.render()
  }
}

extension MaximizationSettings.Parameterization: ExpressibleByArgument {}
