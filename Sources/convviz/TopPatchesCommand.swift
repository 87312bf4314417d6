import ArgumentParser
import Datasets
import Engine
import Explain
import Files
import ImageCodecs
import ModelFormats
import Tensors
import Visualization

/// `convviz top-patches MODEL --data DIR --layer NODE`: the dataset crops
/// that excite each unit most.
struct TopPatchesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "top-patches",
    abstract: "Show the data set crops that excite each unit of a layer most.",
    discussion: """
      One pass over the data (its test split when it has one, else all of it; --limit \
      keeps the first N samples): for each unit (channel) of each --layer, the --k \
      samples with the largest activation anywhere in the unit's maps, each cropped to \
      the receptive field at the position of that maximum (computed from the kernel \
      sizes, strides and padding of every op on the way; pixels outside the image are \
      black). Memory holds k crops per unit, whatever the data's size. Writes one grid per \
      layer into the output folder (-o, default output/): MODEL-top-patches-LAYER.png, one \
      row per unit, best first from the left, each crop labelled with its activation.
      """)

  @Argument(help: ModelArgument.help)
  var model: String

  @OptionGroup var data: DataOptions
  @OptionGroup var labels: LabelsOption
  @OptionGroup var input: ModelInputOptions

  @Option(
    parsing: .unconditionalSingleValue,
    help: ArgumentHelp(
      "A layer with (channels, height, width) output: a row number of `convviz summary` or "
        + "a graph tensor name; repeat it for several layers.", valueName: "node"))
  var layer: [String] = []

  @Option(parsing: .unconditional, help: ArgumentHelp("Crops per unit.", valueName: "k"))
  var k = 9

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Units (rows) to draw: 0,5,9 or 0-15 (default all).", valueName: "list"))
  var units: String?

  @Option(
    parsing: .unconditional,
    help: "Samples per forward pass (bounds memory; results do not depend on it).")
  var batchSize = 64

  @OptionGroup var memory: MemoryOptions
  @OptionGroup var threads: ThreadOptions

  @OptionGroup var outputFolder: OutputFolderOption
  var output: String { outputFolder.output }

  func validate() throws {
    guard !layer.isEmpty else { throw ValidationError("give --layer NODE") }
    guard k >= 1 else { throw ValidationError("--k must be at least 1") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    if let units { _ = try LayerArgument.indices(units, option: "--units") }
  }

  func run() throws {
    threads.apply()
    let loaded = try ModelArgument.loadModel(model, memory: memory, input: input)
    let explainer = Explainer(network: loaded.network)
    var layers: [String] = []
    for option in layer {
      let name = try LayerArgument.resolve(option, in: explainer, spec: loaded.spec)
      if !layers.contains(name) { layers.append(name) }
    }
    let graph = loaded.network.graph
    let rows = try units.map { try LayerArgument.indices($0, option: "--units") }
    var collectors: [TopPatches] = []
    for name in layers {
      let field: ReceptiveField
      do {
        field = try ReceptiveField.of(name, in: graph)
      } catch {
        throw CommandFailure("\(model): --layer \(name): \(error)")
      }
      guard let node = graph.nodes.firstIndex(where: { $0.output == name }) else {
        preconditionFailure("a resolved layer is a node's output")
      }
      let count = graph.tensorShapes[node + 1][0]
      if let bad = rows?.first(where: { $0 >= count }) {
        throw CommandFailure.usage(
          ExplainError.unitOutOfRange(bad, unitCount: count, layer: name).description)
      }
      collectors.append(TopPatches(k: k, units: count, field: field))
    }
    let outputs = layers.map {
      Path.join(
        output,
        "\(OutputPaths.stem(of: model))-top-patches-\(OutputPaths.fileNamePart($0)).png")
    }
    try NamedPath.refuseCollisions(
      outputs: outputs.map { NamedPath(role: "the output", path: $0) },
      inputs: [NamedPath(role: "the model", path: model)])
    try memory.check(
      loaded.inferenceMemory(batchSize: batchSize), for: "\(model): top patches")
    let (splits, dataset, preprocessing) = try data.heldOutSamples(
      for: loaded, path: model, input: input, labels: labels)
    guard dataset.sampleShape == loaded.network.inputShape else {
      throw CommandFailure(
        "\(data.folder): samples are \(dataset.sampleShape), the model takes "
          + "\(loaded.network.inputShape)")
    }
    try Folder.create(output)
    var network = loaded.network
    let progress = ProgressBar(label: "top patches", total: dataset.count, minimumSteps: 2)
    for start in stride(from: 0, to: dataset.count, by: batchSize) {
      let (images, _) = dataset.batch(start..<min(start + batchSize, dataset.count))
      for index in layers.indices {
        collectors[index].add(
          images: PixelConversion.displayValues(images, preprocessing),
          activation: try network.activation(of: layers[index], for: images))
      }
      progress.update(done: min(start + batchSize, dataset.count))
    }
    progress.finish()
    Terminal.say(
      "\(data.describe(splits)): \(plural(dataset.count, "sample"))"
        + (splits.test == nil ? "" : " of the test split"))
    for (index, name) in layers.enumerated() {
      let field = collectors[index].field
      let patches = collectors[index].patches()
      try PictureFile.write(
        Self.grid(rows.map { $0.map { patches[$0] } } ?? patches, units: rows), to: outputs[index])
      Terminal.say(
        "wrote \(outputs[index]) (\(name): \(plural(collectors[index].units, "unit")), "
          + "receptive field \(field.vertical.size)×\(field.horizontal.size) pixels "
          + "every \(field.vertical.jump)×\(field.horizontal.jump))")
    }
  }

  /// Rows of units, columns of ranks; crops drawn at their true values
  /// (0…1) and labelled with their activation. `units` numbers the rows
  /// when they are not 0, 1, 2, ….
  static func grid(_ patches: [[Patch]], units: [Int]?) -> Image {
    let k = patches.map(\.count).max() ?? 1
    var tiles: [GridTile] = []
    for row in patches {
      for rank in 0..<k {
        guard rank < row.count else {
          let shape = row.first?.crop.shape ?? patches.first { !$0.isEmpty }?.first?.crop.shape
          let (h, w) = (shape?[1] ?? 1, shape?[2] ?? 1)
          tiles.append(GridTile(width: w, height: h, values: Array(repeating: 0, count: h * w)))
          continue
        }
        let crop = row[rank].crop
        let (c, h, w) = (crop.shape[0], crop.shape[1], crop.shape[2])
        let s = crop.storage
        let label = NumberText.compact(Double(row[rank].value))
        if c == 3 {
          tiles.append(
            GridTile(
              width: w, height: h, red: Array(s[0..<(h * w)]),
              green: Array(s[(h * w)..<(2 * h * w)]), blue: Array(s[(2 * h * w)..<(3 * h * w)]),
              label: label))
        } else {
          tiles.append(GridTile(width: w, height: h, values: Array(s[0..<(h * w)]), label: label))
        }
      }
    }
    var grid = Grid(tiles: tiles)
    grid.columns = k
    grid.normalization = .fixed(lo: 0, hi: 1)
    grid.labels = .custom
    grid.axes = GridAxes(
      rows: units.map { "units " + $0.map(String.init).joined(separator: ",") } ?? "unit",
      columns: "rank")
    grid.shrink(toWidth: Grid.defaultMaxWidth)
    return grid.render()
  }
}
