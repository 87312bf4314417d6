import ArgumentParser
import AtomicFiles
import Engine
import ModelFormats
import Training
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
      A deeper layer (--layer N, numbered as in `convviz summary`) has
      several input channels: by default it is a mosaic with one row per
      filter and one column per input channel; --view mean shows each
      filter's mean over its input channels instead.
      """)

  @Argument(help: "A model file written by `convviz train`.")
  var model = VisualizationIO.defaultModelPath

  @Option(
    name: [.short, .customLong("output")], help: ArgumentHelp("Output folder.", valueName: "dir"))
  var output = "output"

  @Option(
    help: ArgumentHelp(
      "The Conv2D layer to draw, numbered as in `convviz summary` (default: the first).",
      valueName: "n"))
  var layer: Int?

  @Option(help: "How filters with several input channels are shown.")
  var view: ChannelView = .mosaic

  @Option(help: "Value range of the colours: one for all filters, each filter its own, or fixed.")
  var norm: Normalization = .global

  @Option(help: "Colour map; diverging ranges are symmetric around zero.")
  var colormap: ColorMap = .diverging

  @Option(
    help: ArgumentHelp("Pixels per weight (default: filters at least 48 px).", valueName: "n"))
  var scale: Int?

  @Option(help: "Text under each filter (default: its index; none for mosaics).")
  var labels: TileLabels?

  @OptionGroup var width: PictureWidthOptions

  func validate() throws {
    if let scale, scale < 1 { throw ValidationError("--scale must be at least 1") }
    if let layer, layer < 0 { throw ValidationError("--layer must be 0 or more") }
  }

  func run() throws {
    let file = try VisualizationIO.readModel(model)
    guard let index = layer ?? LayerActivations.convolutionLayers(of: file.spec).first else {
      throw VisualizationError.noLayer(kind: "Conv2D")
    }
    let conv = try LayerActivations.convolution(file, layer: index)
    try VisualizationIO.makeFolder(output)
    var written: [String] = []

    let title = Self.title(name: conv.name, kernelShape: conv.kernel.shape.dims, view: view)
    var picture = WeightGrid(kernel: conv.kernel, title: title)
    picture.view = view
    picture.normalization = norm
    picture.colorMap = colormap
    picture.scale = scale
    picture.labels = labels
    picture.maxWidth = width.maxWidth
    let filtersPath = VisualizationIO.path(output, "\(conv.name)-filters.png")
    try PictureFile.write(picture.render(), to: filtersPath)
    written.append(filtersPath)
    var colour = WeightGrid(kernel: conv.kernel, title: "\(conv.name) as colour")
    colour.maxWidth = width.maxWidth
    if let rgb = colour.renderRGB() {
      let rgbPath = VisualizationIO.path(output, "\(conv.name)-filters-rgb.png")
      try PictureFile.write(rgb, to: rgbPath)
      written.append(rgbPath)
    }

    let weightsFolder = VisualizationIO.path(output, "weights")
    try VisualizationIO.makeFolder(weightsFolder)
    var statistics: [TensorStatistics] = []
    for parameter in file.parameters {
      let npyPath = VisualizationIO.path(
        weightsFolder, parameter.name.replacingOccurrences(of: "/", with: "_") + ".npy")
      try NumPyFile.write(
        shape: parameter.tensor.shape.dims, values: parameter.tensor.storage, to: npyPath)
      written.append(npyPath)
      statistics.append(TensorStatistics(name: parameter.name, tensor: parameter.tensor))
    }
    let table = TensorStatistics.table(statistics)
    let summaryPath = VisualizationIO.path(weightsFolder, "summary.txt")
    try AtomicFile.write(table, to: summaryPath)
    written.append(summaryPath)
    print(table, terminator: "")
    for path in written { print("wrote \(path)") }
  }

  /// "conv2d: 32 filters 3x3x1", with how several input channels are shown.
  static func title(name: String, kernelShape: [Int], view: ChannelView) -> String {
    let (kh, kw, cin, cout) = (kernelShape[0], kernelShape[1], kernelShape[2], kernelShape[3])
    let base = "\(name): \(cout) filters \(kh)x\(kw)x\(cin)"
    if cin == 1 { return base }
    return view == .mosaic
      ? base + " (row = filter, column = input channel)" : base + " (mean over inputs)"
  }
}
