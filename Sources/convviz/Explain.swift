import ArgumentParser
import Datasets
import Engine
import Explain
import Files
import ImageCodecs
import ModelFormats
import Tensors
import Visualization

/// `convviz explain MODEL IMAGE... --method M`: why the model gave its
/// answer, as a heatmap over each image.
struct ExplainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explain",
    abstract: "Show which pixels made a model choose a class (Grad-CAM, saliency, ...).",
    discussion: """
      For each IMAGE (a PNG, JPEG or PNM file, a folder of them, or mnist:PATH#INDEX) and each \
      explained class (--class K, else the --top N most likely), writes into the output \
      folder (-o, default output/):
        STEM-METHOD-classK.png  the map over the image as the model sees it, a colour \
      bar and the class name and probability
        STEM-METHOD-classK.npy  the raw map, float32 (H, W) at the model's input size
        STEM-METHOD-classes.png with --top N > 1: the classes' pictures side by side
        STEM-explain.png        with several --method: one row per class, one column \
      per method
      Methods: gradcam, gradcam++, scorecam, layercam (at --layer, default the last convolution \
      whose maps are larger than 1x1; upsampled bilinearly as cv2.resize does), saliency \
      (max over channels of |gradient|), smoothgrad (--samples, --noise, --seed), \
      integrated-gradients (--steps, --baseline; signed, channels summed), occlusion \
      (--window, --stride; signed score drop), guided-backprop (the input gradient with \
      each ReLU passing back only positive gradients; max over channels of |value|), \
      guided-gradcam (guided-backprop times gradcam at --layer). Class scores are the \
      logits under the final softmax; dropout is off.
      """)

  /// The methods, by their command-line names.
  enum Method: String, ExpressibleByArgument, CaseIterable {
    case gradcam
    case gradcamPlusPlus = "gradcam++"
    case scorecam, layercam, saliency, smoothgrad
    case integratedGradients = "integrated-gradients"
    case occlusion
    case guidedBackprop = "guided-backprop"
    case guidedGradcam = "guided-gradcam"

    /// Whether the method takes a map at `--layer`.
    var isClassActivationMap: Bool {
      [.gradcam, .gradcamPlusPlus, .scorecam, .layercam, .guidedGradcam].contains(self)
    }

    /// Whether the method backpropagates guided (through rectifiers only).
    var isGuided: Bool { self == .guidedBackprop || self == .guidedGradcam }
  }

  @Argument(help: ModelArgument.help)
  var model: String

  @Argument(
    help: ArgumentHelp(
      "PNG, JPEG or PNM files, folders of them, or mnist:PATH#INDEX.", valueName: "image"))
  var images: [String] = []

  @Option(
    name: .customLong("method"),
    help: "The attribution method (default gradcam); repeat it for several, drawn side by side.")
  var methodList: [Method] = []

  /// The methods asked for, in order, without repeats.
  var methods: [Method] {
    var seen = Set<Method>()
    let unique = methodList.filter { seen.insert($0).inserted }
    return unique.isEmpty ? [.gradcam] : unique
  }

  @Option(
    name: .customLong("class"), parsing: .unconditional,
    help: ArgumentHelp("Explain this class (its index, or its name).", valueName: "k"))
  var classChoice: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Explain the N most likely classes (default 1).", valueName: "n"))
  var top: Int?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "The layer of the CAM methods (gradcam, gradcam++, scorecam, layercam, guided-gradcam): "
        + "a row number "
        + "of `convviz summary` or a graph tensor name.", valueName: "node"))
  var layer: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("smoothgrad: noisy copies averaged (default 25).", valueName: "n"))
  var samples: Int?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "smoothgrad: noise standard deviation as a fraction of the input's range (default 0.15).",
      valueName: "f"))
  var noise: Float?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("smoothgrad: seed of the noise.", valueName: "s"))
  var seed: UInt64?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("integrated-gradients: points on the path (default 64).", valueName: "n"))
  var steps: Int?

  @Option(
    help: ArgumentHelp(
      "integrated-gradients: black, blur (Gaussian, sigma a tenth of the side) or an image "
        + "file of the model's input size (default black).", valueName: "baseline"))
  var baseline: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("occlusion: side of the square set to zero (default 4).", valueName: "px"))
  var window: Int?

  @Option(
    name: .customLong("stride"), parsing: .unconditional,
    help: ArgumentHelp("occlusion: step between windows (default the window / 2).", valueName: "px")
  )
  var occlusionStride: Int?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Opacity of the heatmap over the image, 0 to 1.", valueName: "a"))
  var alpha: Float = 0.5

  @Option(
    help: "Colour map of the heatmap (default: viridis, diverging for signed maps).")
  var colormap: ColorMap?

  @Flag(
    help: ArgumentHelp(
      "Print `timing forward|METHOD N ms` lines on stderr: one inference pass of the image, "
        + "and each explanation (which includes a forward for the probability)."))
  var timings = false

  @OptionGroup var input: ModelInputOptions

  @OptionGroup var decoding: DecodingOptions

  @OptionGroup var memory: MemoryOptions
  @OptionGroup var architecture: ArchitectureOption

  @OptionGroup var threads: ThreadOptions

  @OptionGroup var outputFolder: OutputFolderOption
  var output: String { outputFolder.output }

  func validate() throws {
    guard !images.isEmpty else { throw ValidationError("give at least one image") }
    if classChoice != nil, top != nil {
      throw ValidationError("give --class or --top, not both")
    }
    if let top, top < 1 { throw ValidationError("--top must be at least 1") }
    let chosen = methods
    func only(_ value: Any?, _ option: String, for allowed: [Method]) throws {
      guard value != nil, !chosen.contains(where: allowed.contains) else { return }
      throw ValidationError(
        "\(option) applies to --method \(allowed.map(\.rawValue).joined(separator: ", ")), "
          + "not \(chosen.map(\.rawValue).joined(separator: ", "))")
    }
    try only(
      layer, "--layer", for: [.gradcam, .gradcamPlusPlus, .scorecam, .layercam, .guidedGradcam])
    try only(samples, "--samples", for: [.smoothgrad])
    try only(noise, "--noise", for: [.smoothgrad])
    try only(seed, "--seed", for: [.smoothgrad])
    try only(steps, "--steps", for: [.integratedGradients])
    try only(baseline, "--baseline", for: [.integratedGradients])
    try only(window, "--window", for: [.occlusion])
    try only(occlusionStride, "--stride", for: [.occlusion])
    for (value, option) in [
      (samples, "--samples"), (steps, "--steps"), (window, "--window"),
      (occlusionStride, "--stride"),
    ] {
      if let value, value < 1 { throw ValidationError("\(option) must be at least 1") }
    }
    if let noise, !(noise >= 0 && noise.isFinite) {
      throw ValidationError("--noise must be a finite number, 0 or more")
    }
    guard alpha >= 0, alpha <= 1 else { throw ValidationError("--alpha must be in 0…1") }
  }

  func run() throws {
    threads.apply()
    let loaded = try loadModel()
    let shape = loaded.network.inputShape
    guard shape.rank == 3, shape[0] == 1 || shape[0] == 3 else {
      throw CommandFailure("\(model): the model does not take 1- or 3-channel images")
    }
    let (channels, height, width) = (shape[0], shape[1], shape[2])
    var explainer = Explainer(network: loaded.network)
    let classNames = loaded.classNames.count == explainer.classCount ? loaded.classNames : []
    let layerName = try resolveLayer(explainer, spec: loaded.spec)
    let fixedClass = try resolveClass(classNames: classNames, count: explainer.classCount)
    for method in methods where method.isGuided {
      do {
        try explainer.checkGuidedRule(method: method.rawValue)
      } catch {
        throw CommandFailure("\(model): \(error)")
      }
    }
    let inputs = try InputImage.expand(images)
    // The weights, and per sample of a batch every tensor of the graph
    // kept for backward with a gradient beside it.
    let perSample = loaded.network.graph.tensorShapes.map { MemoryEstimate.floats($0.count) }
    try memory.check(
      .floats(loaded.network.parameterCount) + .sum(perSample) * (2 * explainer.batchSize),
      for: "\(model): explaining with \(methods.map(\.rawValue).joined(separator: ", "))")
    let (mode, preprocessing) = try input.settings(for: loaded, path: model)
    let baselineInput = try loadBaseline(
      channels: channels, height: height, width: width, preprocessing: preprocessing)
    let classCount = fixedClass == nil ? min(top ?? 1, explainer.classCount) : 1
    try prepareOutputs(inputs, classCount: classCount, fixedClass: fixedClass)

    let progress = ProgressBar(label: "explain", total: inputs.count, minimumSteps: 2)
    var failed = 0
    for (index, input) in inputs.enumerated() {
      do {
        let tensor = try Predict.modelInput(
          try input.load(options: decoding.decodeOptions), path: input.path,
          channels: channels, height: height, width: width, resize: mode,
          preprocessing: preprocessing)
        var watch = Stopwatch()
        let ranked = try explainer.rankedClasses(tensor)
        let forward = watch.lap()
        if timings {
          Terminal.diagnostic(
            "timing forward \(TextFormat.fixed(forward, 3)) ms (\(input.path))")
        }
        let classes = fixedClass.map { [$0] } ?? ranked.prefix(classCount).map(\.0)
        // One row of pictures per class, one column per method.
        var rows: [[Picture]] = []
        for k in classes {
          var row: [Picture] = []
          for method in methods {
            _ = watch.lap()
            let attribution = try explainer.explain(
              tensor, classIndex: k,
              method: attributionMethod(
                method, layer: layerName, input: tensor, baseline: baselineInput))
            let spent = watch.lap()
            if timings {
              Terminal.diagnostic(
                "timing \(method.rawValue) \(TextFormat.fixed(spent, 3)) ms "
                  + "(\(input.path), class \(k))")
            }
            row.append(
              try write(
                attribution, method: method, input: input,
                tensor: PixelConversion.displayValues(tensor, preprocessing),
                layer: method.isClassActivationMap ? layerName : nil,
                className: k < classNames.count ? classNames[k] : String(k)))
          }
          rows.append(row)
        }
        if let path = gridPath(input, classCount: classes.count) {
          try PictureFile.write(Self.grid(rows), to: path)
          Terminal.say("wrote \(path)")
        }
      } catch let error as ExplainError {
        throw CommandFailure("\(input.path): \(error)")
      } catch {
        Terminal.error(CommandFailure(error).description)
        failed += 1
      }
      progress.update(done: index + 1)
    }
    progress.finish()
    if failed > 0 { throw CommandFailure.summary(failed: failed, of: inputs.count, noun: "image") }
  }

  /// A model file of `convviz train`, an ONNX or a Keras model (detected from its
  /// bytes), through the loading path every command shares.
  private func loadModel() throws -> LoadedModel {
    try ModelArgument.loadModel(
      model, memory: memory, input: input, architecture: architecture.architecture)
  }

  /// The tensor the CAM methods use: `--layer` as a summary row number
  /// (model files) or a tensor name, else the default; nil for the other
  /// methods.
  private func resolveLayer(_ explainer: Explainer, spec: ModelSpec?) throws -> String? {
    guard methods.contains(where: \.isClassActivationMap) else { return nil }
    guard let layer else {
      guard let name = explainer.defaultLayer else {
        throw CommandFailure("\(model): \(ExplainError.noSpatialLayer); use --method saliency")
      }
      return name
    }
    return try LayerArgument.resolve(layer, in: explainer, spec: spec)
  }

  /// `--class` as an index (by number or name), checked against the model.
  private func resolveClass(classNames: [String], count: Int) throws -> Int? {
    guard let classChoice else { return nil }
    if let index = Int(classChoice) {
      guard index >= 0, index < count else {
        throw CommandFailure.usage(
          ExplainError.classOutOfRange(index, classCount: count).description)
      }
      return index
    }
    guard let index = classNames.firstIndex(of: classChoice) else {
      throw CommandFailure.usage(
        "--class \(classChoice) is not a class of the model; give 0…\(count - 1)"
          + (classNames.isEmpty ? "" : " or a name: " + classNames.joined(separator: ", ")))
    }
    return index
  }

  /// The integrated-gradients baseline when it is an image file (black and
  /// blur depend on each input).
  private func loadBaseline(
    channels: Int, height: Int, width: Int, preprocessing: Preprocessing
  ) throws -> Tensor? {
    guard methods.contains(.integratedGradients), let baseline, baseline != "black",
      baseline != "blur"
    else { return nil }
    guard Path.isFile(baseline) else {
      throw CommandFailure.usage(
        "--baseline \(baseline) is not black, blur or an image file")
    }
    let image = try decoding.read(baseline)
    guard image.width == width, image.height == height else {
      throw CommandFailure(
        "\(baseline): --baseline is a \(image.width)×\(image.height) image; the model takes "
          + "\(width)×\(height) images")
    }
    return PixelConversion.tensor(of: image, channels: channels, preprocessing: preprocessing)
  }

  private func attributionMethod(
    _ method: Method, layer: String?, input: Tensor, baseline: Tensor?
  ) -> AttributionMethod {
    switch method {
    case .gradcam: return .gradCAM(layer: layer ?? "")
    case .gradcamPlusPlus: return .gradCAMPlusPlus(layer: layer ?? "")
    case .scorecam: return .scoreCAM(layer: layer ?? "")
    case .layercam: return .layerCAM(layer: layer ?? "")
    case .saliency: return .saliency
    case .smoothgrad:
      return .smoothGrad(samples: samples ?? 25, noise: noise ?? 0.15, seed: seed ?? 0)
    case .integratedGradients:
      let start =
        baseline
        ?? (self.baseline == "blur" ? Baseline.blurred(input) : Baseline.black(like: input))
      return .integratedGradients(steps: steps ?? 64, baseline: start)
    case .occlusion:
      let side = window ?? 4
      return .occlusion(window: side, stride: occlusionStride ?? max(1, side / 2))
    case .guidedBackprop: return .guidedBackprop
    case .guidedGradcam: return .guidedGradCAM(layer: layer ?? "")
    }
  }
}
