import ArgumentParser
import Engine
import Files
import ModelFormats
import Training
import Tensors
import Visualization

/// `convviz dump-weights`: the filters of a trained model as pictures, every
/// weight as a NumPy file, and a statistics table.
struct DumpWeights: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dump-weights",
    abstract: "Draw a model's convolution filters; dump every weight as .npy.",
    discussion: """
      Writes into the output folder:
        LAYER-filters.png      the filters of one Conv2D layer (default: the
                               first); blue = negative, white = zero, red =
                               positive, with a colour bar
        LAYER-filters-rgb.png  filters with 3 input channels, in colour
        weights/LAYER_kernel.npy, weights/LAYER_bias.npy
                               every layer, Keras layout (conv kernels HWIO:
                               kh, kw, in, out; dense kernels in, out)
        weights/summary.txt    shape, min, max, mean and std of each tensor
      A deeper layer (--layer N, numbered from 0 as in `convviz summary`)
      has several input channels: by default it is a mosaic with one row
      per filter and one column per input channel; --view mean shows each
      filter's mean over its input channels instead. A model without
      convolutions still gets its .npy files and summary, with a note that
      there is no filter grid to draw.
      -o names the output folder (default output/, created when missing).
      """)

  @Argument(help: ModelArgument.help)
  var model = ModelArgument.defaultModelPath

  @OptionGroup var outputFolder: OutputFolderOption
  var output: String { outputFolder.output }

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "The Conv2D layer to draw, numbered from 0 as in `convviz summary` (default: the first).",
      valueName: "n"))
  var layer: Int?

  @Option(help: "How filters with several input channels are shown.")
  var view: ChannelView = .mosaic

  @Option(help: "Value range of the colours: one for all filters, each filter its own, or fixed.")
  var norm: Normalization = .global

  @Option(help: "Colour map; diverging ranges are symmetric around zero.")
  var colormap: ColorMap = .diverging

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Pixels per weight (default: filters at least 48 px).", valueName: "n"))
  var scale: Int?

  @Option(help: "Text under each filter (default: its index; none for mosaics).")
  var labels: TileLabels?

  @OptionGroup var width: PictureWidthOptions

  @OptionGroup var memory: MemoryOptions
  @OptionGroup var architecture: ArchitectureOption

  /// Beyond this many pixels per weight the picture's size arithmetic
  /// could overflow; the memory budget refuses far smaller scales.
  static let maximumScale = 1 << 20

  func validate() throws {
    if let scale, scale < 1 { throw ValidationError("--scale must be at least 1") }
    if let scale, scale > Self.maximumScale {
      throw ValidationError("--scale must be at most \(Self.maximumScale)")
    }
    if let layer, layer < 0 { throw ValidationError("--layer must be 0 or more") }
  }

  func run() throws {
    let file = try ModelArgument.loadModel(
      model, memory: memory, architecture: architecture.architecture)
    let index = layer ?? LayerActivations.convolutionLayers(of: file).first
    let conv = try index.map { try LayerActivations.convolution(file, layer: $0) }
    if let conv {
      let size = filterGrid(conv).grid().size()
      let largest = file.parameters.map { MemoryEstimate.floats($0.tensor.count) }.max() ?? .zero
      try memory.check(
        CommandMemory.picture(width: size.width, height: size.height) + largest,
        for: "\(model): drawing the filters of \(conv.name) "
          + "(\(size.width)×\(size.height) pixels)",
        alternative: scale == nil ? nil : "or lower --scale")
    }
    let weightsFolder = Path.join(output, "weights")
    var pictures: [String] = []
    if let conv {
      let stem = OutputPaths.fileNamePart(conv.name)
      pictures.append(Path.join(output, "\(stem)-filters.png"))
      if conv.kernel.shape[2] == 3 {
        pictures.append(Path.join(output, "\(stem)-filters-rgb.png"))
      }
    }
    let parameters = file.parameters
    let npyFiles = parameters.map {
      Path.join(weightsFolder, OutputPaths.fileNamePart($0.name) + ".npy")
    }
    let summaryPath = Path.join(weightsFolder, "summary.txt")
    try NamedPath.refuseCollisions(
      outputs: (pictures + npyFiles + [summaryPath]).map {
        NamedPath(role: "the output", path: $0)
      },
      inputs: [NamedPath(role: "the model", path: model)])
    try Folder.create(weightsFolder)

    var written: [String] = []
    if let conv {
      written += try drawFilters(conv, to: pictures)
    }
    var statistics: [TensorStatistics] = []
    for (parameter, npyPath) in zip(parameters, npyFiles) {
      try NumPyFile.write(
        shape: parameter.tensor.shape.dims, values: parameter.tensor.storage, to: npyPath)
      written.append(npyPath)
      statistics.append(TensorStatistics(name: parameter.name, tensor: parameter.tensor))
    }
    let table = TensorStatistics.table(statistics)
    try AtomicFile.write(table, to: summaryPath)
    written.append(summaryPath)
    Terminal.sayLines(table)
    for path in written { Terminal.say("wrote \(path)") }
    if conv == nil { Terminal.note("\(model) has no Conv2D layer: no filter grid to draw") }
  }

  /// The filter grid, and the colour view of filters over 3 channels.
  private func drawFilters(
    _ conv: (name: String, kernel: Tensor, bias: Tensor), to paths: [String]
  ) throws
    -> [String]
  {
    try PictureFile.write(filterGrid(conv).render(), to: paths[0])
    guard paths.count > 1 else { return [paths[0]] }
    var colour = WeightGrid(kernel: conv.kernel, title: "\(conv.name) as colour")
    colour.maxWidth = width.maxWidth
    guard let rgb = colour.renderRGB() else { return [paths[0]] }
    try PictureFile.write(rgb, to: paths[1])
    return paths
  }

  /// The picture of `conv`'s filters as the options ask for it.
  private func filterGrid(_ conv: (name: String, kernel: Tensor, bias: Tensor)) -> WeightGrid {
    let title = WeightGrid.title(
      layer: conv.name, kernelShape: conv.kernel.shape.dims, view: view)
    var picture = WeightGrid(kernel: conv.kernel, title: title)
    picture.view = view
    picture.normalization = norm
    picture.colorMap = colormap
    picture.scale = scale
    picture.labels = labels
    picture.maxWidth = width.maxWidth
    return picture
  }
}
