import ArgumentParser
import Datasets
import Engine
import Explain
import Files
import ImageCodecs
import ModelFormats
import Tensors
import Visualization

/// `convviz embed MODEL --data DIR`: a 2-D map of one layer's activations,
/// coloured by class.
struct Embed: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "embed",
    abstract: "Map a layer's activations of a data set in 2-D (PCA or t-SNE), by class.",
    discussion: """
      Runs the data (its test split when it has one, else all of it; the first \
      \(Embed.defaultLimit) samples unless --limit says otherwise) up to --layer (default: \
      the tensor the last Dense layer reads, the layer before the classifier), flattens \
      each sample's activation and maps it to 2-D: pca (the two leading principal axes, \
      through LAPACK) or tsne (exact t-SNE: perplexity --perplexity, default 30; 1000 \
      iterations, the first 250 with early exaggeration 12, momentum 0.5 then 0.8, as \
      scikit-learn; the start drawn from --seed). Draws the points coloured by class with \
      a legend (-o, default output/MODEL-embed-METHOD.png); --thumbnails places the images \
      themselves where they do not overlap. Prints the k-NN class agreement (k = 5): the \
      mean share of each point's 5 nearest neighbours of its own class, in the 2-D map and \
      in the raw activations.
      """)

  enum Method: String, ExpressibleByArgument, CaseIterable {
    case pca, tsne
  }

  /// Samples used when --limit is not given: t-SNE costs N² per iteration.
  static let defaultLimit = 1000

  @Argument(help: ModelArgument.help)
  var model: String

  @OptionGroup var data: DataOptions
  @OptionGroup var labels: LabelsOption
  @OptionGroup var input: ModelInputOptions

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "The layer to map: a row number of `convviz summary` or a graph tensor name "
        + "(default: the input of the last Dense layer).", valueName: "node"))
  var layer: String?

  @Option(help: "How to map to 2-D.")
  var method = Method.pca

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("tsne: the effective number of neighbours.", valueName: "p"))
  var perplexity: Double?

  @Option(parsing: .unconditional, help: "tsne: seed of the start.")
  var seed: UInt64?

  @Flag(help: "Draw the images themselves on the map.")
  var thumbnails = false

  @OptionGroup var memory: MemoryOptions
  @OptionGroup var threads: ThreadOptions

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "The picture (default output/MODEL-embed-METHOD.png).", valueName: "file"))
  var output: String?

  func validate() throws {
    if let perplexity, !(perplexity >= 1 && perplexity.isFinite) {
      throw ValidationError("--perplexity must be a number, 1 or more")
    }
    if method != .tsne, perplexity != nil || seed != nil {
      throw ValidationError("--perplexity and --seed apply to --method tsne")
    }
    let picture = try SingleOutput(output, defaultPath: defaultPath).path ?? ""
    try NamedPath.refuseCollisions(
      outputs: [NamedPath(role: "the picture (-o)", path: picture)],
      inputs: [NamedPath(role: "the model", path: model)])
  }

  private var defaultPath: String {
    "output/\(OutputPaths.stem(of: model))-embed-\(method.rawValue).png"
  }

  func run() throws {
    threads.apply()
    let loaded = try ModelArgument.loadModel(model, memory: memory, input: input)
    let graph = loaded.network.graph
    let name = try resolveLayer(graph: graph, spec: loaded.spec)
    let (_, samples, preprocessing) = try data.heldOutSamples(
      for: loaded, path: model, input: input, labels: labels)
    var dataset = samples
    if data.limit == nil, dataset.count > Self.defaultLimit {
      dataset = dataset.prefix(Self.defaultLimit)
      Terminal.note("using the first \(Self.defaultLimit) samples (--limit N for another number)")
    }
    let n = dataset.count
    guard n > 5 else {
      throw CommandFailure("\(data.folder): \(plural(n, "sample")); the map needs at least 6")
    }
    let perplexity = perplexity ?? 30
    if method == .tsne, perplexity >= Double(n) {
      throw CommandFailure.usage(
        "--perplexity \(TextFormat.fixed(perplexity, 1)) must be below the number of samples "
          + "(\(n))")
    }
    guard
      let k = graph.nodes.firstIndex(where: { $0.output == name })
        ?? (name == graph.input ? -1 : nil)
    else { preconditionFailure("a resolved layer is a tensor of the graph") }
    let d = graph.tensorShapes[k + 1].count
    try memory.check(
      loaded.inferenceMemory(batchSize: 100) + .floats(n * d) + .floats(4 * n * n),
      for: "\(model): mapping \(plural(n, "sample")) of \(d) values")
    let picture = try SingleOutput(output, defaultPath: defaultPath)
    try picture.prepare()

    var network = loaded.network
    var activations: [Float] = []
    activations.reserveCapacity(n * d)
    var images: [Image] = []
    let progress = ProgressBar(label: "activations", total: n, minimumSteps: 2)
    for start in stride(from: 0, to: n, by: 100) {
      let (batch, _) = dataset.batch(start..<min(start + 100, n))
      let a = k < 0 ? batch : try network.activation(of: name, for: batch)
      activations += a.storage
      if thumbnails {
        let shown = PixelConversion.displayValues(batch, preprocessing)
        images += (0..<batch.batchCount).map { ImageTensor.image(from: shown, sample: $0) }
      }
      progress.update(done: min(start + 100, n))
    }
    progress.finish()

    let map: [Float]
    switch method {
    case .pca:
      map = try PrincipalComponents.project(activations, rows: n, columns: d)
    case .tsne:
      var watch = Stopwatch()
      map = TSNE(perplexity: perplexity, seed: seed ?? 0).embed(
        activations, rows: n, columns: d)
      Terminal.note("t-SNE of \(plural(n, "point")): \(TextFormat.fixed(watch.lap() / 1000, 1)) s")
    }
    let classNames = classNames(dataset, model: loaded)
    let mapAgreement = Neighbours.classAgreement(map, rows: n, columns: 2, labels: dataset.labels)
    let rawAgreement = Neighbours.classAgreement(
      activations, rows: n, columns: d, labels: dataset.labels)
    Terminal.say(
      "k-NN class agreement (k=5): 2-D map \(TextFormat.fixed(mapAgreement, 3)), "
        + "activations at \(name) (\(d) values) \(TextFormat.fixed(rawAgreement, 3))")
    let axis = method == .pca ? "principal component" : "t-SNE"
    var plot = ScatterPlot(
      title: "\(name), \(method.rawValue), \(n) samples", xLabel: "\(axis) 1",
      yLabel: "\(axis) 2",
      points: (0..<n).map { (Double(map[2 * $0]), Double(map[2 * $0 + 1])) },
      labels: dataset.labels, classNames: classNames)
    plot.thumbnails = images
    try PictureFile.write(plot.render(), to: picture.path ?? "")
    Terminal.say("wrote \(picture.name)")
  }

  /// The data's class names, else the model's, else numbers.
  private func classNames(_ dataset: Dataset, model: LoadedModel) -> [String] {
    let count = (dataset.labels.max() ?? 0) + 1
    if dataset.classNames.count >= count { return dataset.classNames }
    if model.classNames.count >= count { return model.classNames }
    return (0..<count).map(String.init)
  }

  /// `--layer` (any tensor), else the tensor the last Dense node reads,
  /// else the input of the output's node.
  private func resolveLayer(graph: Graph, spec: ModelSpec?) throws -> String {
    let tensors = [graph.input] + graph.nodes.map(\.output)
    guard let layer else {
      let last =
        graph.nodes.last { $0.op.kind == "Dense" } ?? graph.nodes.last { $0.output == graph.output }
      return last?.inputs.first ?? graph.input
    }
    let name = spec.flatMap { spec in
      Int(layer).flatMap { $0 >= 0 && $0 < spec.layers.count ? spec.tensorName(ofRow: $0) : nil }
    }
    guard let found = name ?? (tensors.contains(layer) ? layer : nil) else {
      throw CommandFailure.usage(
        "--layer \(layer) is not a layer of the model; layers: " + tensors.joined(separator: ", "))
    }
    return found
  }
}
