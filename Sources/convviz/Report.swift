import ArgumentParser
import AtomicFiles
import Engine
import ModelFormats
import Training
import Datasets
import Foundation
import ImageCodecs
import Tensors
import Visualization

/// `convviz report`: one self-contained HTML page about a trained model.
struct Report: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write a self-contained HTML report about a trained model.",
    discussion: """
      The page (default output/report.html) has the model summary, the
      training curves, the filters of every Conv2D layer and the feature
      maps of a sample image; with --data also the test accuracy, the
      confusion matrix and misclassified examples of every class. Images
      are inlined as PNG data URIs: no scripts, no network, one file to
      share. The sample image is --sample, else the first test sample of
      --data, else samples/astronaut.png. -o names the page's file (an
      existing folder gets report.html inside; - writes the page to
      standard output).
      """)

  @Argument(help: "A model file written by `convviz train`.")
  var model = ModelArgument.defaultModelPath

  @Option(
    help: ArgumentHelp("Data set to evaluate on (as for `convviz evaluate`).", valueName: "dir"))
  var data: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Use only the first N samples of the evaluated split.", valueName: "n"))
  var limit: Int?

  @Option(help: ArgumentHelp("Image whose feature maps are shown.", valueName: "file"))
  var sample: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Misclassified examples shown per class.", valueName: "n"))
  var examples = 8

  @Option(
    name: [.short, .customLong("output")],
    help: ArgumentHelp(
      "The HTML file to write (default \(defaultOutput); - for standard output).",
      valueName: "file"))
  var outputOption: String?

  static let defaultOutput = "output/report.html"
  static let fallbackSample = "samples/astronaut.png"

  /// The page's destination, by `OutputRule`.
  var output: SingleOutput {
    get throws {
      try SingleOutput(outputOption, defaultPath: Self.defaultOutput, allowsStandardOutput: true)
    }
  }

  func validate() throws {
    if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    if examples < 1 { throw ValidationError("--examples must be at least 1") }
    var inputs = [NamedPath(role: "the model", path: model)]
    if let sample { inputs.append(NamedPath(role: "the sample image", path: sample)) }
    if let page = try output.path {
      try NamedPath.refuseCollisions(
        outputs: [NamedPath(role: "the report (-o)", path: page)], inputs: inputs)
    }
  }

  func run() throws {
    let output = try output
    let file = try ModelArgument.readModelFile(model)
    var page = HTMLReport(title: "convviz report: \(OutputPaths.stem(of: model))")
    modelSection(file, into: &page)
    try curvesSection(file.metadata.history, into: &page)
    let evaluated = try data.map { folder throws in
      try evaluationSection(file, folder: folder, into: &page)
    }
    try filtersSection(file, into: &page)
    try featureMapsSection(file, firstTestSample: evaluated ?? nil, into: &page)
    let html = Array(page.html().utf8)
    if let path = output.path {
      try output.prepare()
      try AtomicFile.write(html, to: path)
      Terminal.say("wrote \(path)")
    } else {
      try html.withUnsafeBytes { try Terminal.writeStandardOutput($0) }
      Terminal.note("wrote the report to standard output")
    }
  }

  private func modelSection(_ file: ModelFile, into page: inout HTMLReport) {
    let summary = ModelSummary(file.spec)
    let m = file.metadata
    page.heading("Model")
    page.paragraph(
      "\(model): \(plural(m.epochsCompleted, "epoch")) on \(m.dataset.isEmpty ? "unnamed data" : m.dataset), "
        + "batch size \(m.batchSize), validation split \(m.validationSplit), seed \(m.seed), "
        + "optimizer \(m.optimizer)."
    )
    page.table(
      header: ["Layer (type)", "Output shape", "Param #", "Formula"],
      rows: summary.rows.map {
        [
          "\($0.name) (\($0.type))", $0.outputShape.description,
          "\($0.parameterCount)", $0.formula,
        ]
      }
        + [["Total", "", "\(summary.totalCount)", ""]],
      numericColumns: [2])
  }

  private func curvesSection(_ history: [EpochRecord], into page: inout HTMLReport) throws {
    page.heading("Training")
    guard !history.isEmpty else {
      page.paragraph("The model file has no training history.")
      return
    }
    page.gallery([
      (try PictureFile.png(TrainingCurves.lossPlot(history).render()), "loss per epoch"),
      (try PictureFile.png(TrainingCurves.accuracyPlot(history).render()), "accuracy per epoch"),
    ])
  }

  /// Evaluates on the test split (or train without one) and returns its first
  /// sample for the feature maps.
  private func evaluationSection(_ file: ModelFile, folder: String, into page: inout HTMLReport)
    throws -> Tensor?
  {
    var channels: Int?
    if case .image(_, _, let c) = file.spec.input, c == 1 || c == 3 { channels = c }
    let splits = try DatasetSplits.load(folder, channels: channels, seed: file.metadata.seed)
    let part = splits.test == nil ? "\(folder) (no separate test split)" : "test split of \(folder)"
    var dataset = splits.test ?? splits.train
    if let limit { dataset = dataset.prefix(limit) }
    guard dataset.sampleShape == file.spec.input.tensorShape else {
      throw CommandFailure(
        "\(folder): samples are \(dataset.sampleShape), the model takes "
          + "\(file.spec.input.tensorShape)")
    }
    let classCount = file.spec.classCount ?? 0
    guard dataset.labels.allSatisfy({ $0 >= 0 && $0 < classCount }) else {
      throw CommandFailure("\(folder): labels outside the model's \(classCount) classes")
    }
    var network = file.spec.makeModel(parameters: file.parameters)
    let predicted = network.predict(dataset.images).argmaxPerSample()
    let names =
      file.metadata.classNames.count == classCount
      ? file.metadata.classNames
      : (dataset.classNames.count == classCount
        ? dataset.classNames : (0..<classCount).map(String.init))
    let correct = zip(predicted, dataset.labels).filter { $0 == $1 }.count
    page.heading("Evaluation")
    page.paragraph(
      "\(part): \(dataset.count) samples, accuracy "
        + NumberText.fixed(100 * Double(correct) / Double(max(dataset.count, 1)), 2)
        + "% (\(correct)/\(dataset.count)).")
    let confusion = ConfusionMatrixPlot(
      trueLabels: dataset.labels, predicted: predicted, classNames: names)
    let matrix = confusion.render()
    // Shown at twice its size: the pixel font stays crisp (image-rendering: pixelated).
    page.image(
      png: try PictureFile.png(matrix), alt: "confusion matrix",
      caption: "rows: true class, columns: predicted class; shade = share of the row",
      displayWidth: 2 * matrix.width)
    page.heading("Misclassified examples", level: 3)
    let errors = MisclassifiedExamples.grids(
      images: dataset.images, labels: dataset.labels, predicted: predicted, classNames: names,
      perClass: examples)
    if errors.isEmpty { page.paragraph("None: every sample was classified correctly.") }
    for classErrors in errors {
      page.image(
        png: try PictureFile.png(classErrors.grid.render()),
        alt: "errors of \(names[classErrors.classIndex])",
        caption: "true \(names[classErrors.classIndex]): \(classErrors.errorCount) wrong")
    }
    guard dataset.count > 0 else { return nil }
    return ImageTensor.sample(0, of: dataset.images)
  }

  private func filtersSection(_ file: ModelFile, into page: inout HTMLReport) throws {
    page.heading("Filters")
    page.paragraph(
      "Blue = negative, white = zero, red = positive weights; one colour scale per layer.")
    for index in LayerActivations.convolutionLayers(of: file.spec) {
      let conv = try LayerActivations.convolution(file, layer: index)
      let dims = conv.kernel.shape.dims
      let view: ChannelView = dims[2] * dims[3] <= 1024 ? .mosaic : .mean
      var picture = WeightGrid(
        kernel: conv.kernel,
        title: DumpWeights.title(name: conv.name, kernelShape: dims, view: view))
      picture.view = view
      var images = [(try PictureFile.png(picture.render()), "\(conv.name)")]
      let colour = WeightGrid(kernel: conv.kernel, title: "\(conv.name) as colour")
      if let rgb = colour.renderRGB() {
        images.append((try PictureFile.png(rgb), "\(conv.name) in colour"))
      }
      page.gallery(images)
    }
  }

  private func featureMapsSection(
    _ file: ModelFile, firstTestSample: Tensor?, into page: inout HTMLReport
  ) throws {
    guard case .image(_, _, let channels) = file.spec.input, channels == 1 || channels == 3 else {
      return
    }
    page.heading("Feature maps")
    let input: Tensor
    let source: String
    if let sample {
      input = ImageTensor.tensor(from: try ImageFile.read(sample), channels: channels)
      source = sample
    } else if let firstTestSample {
      input = firstTestSample
      source = "the first evaluated sample"
    } else if FileManager.default.fileExists(atPath: Self.fallbackSample) {
      input = ImageTensor.tensor(
        from: try ImageFile.read(Self.fallbackSample), channels: channels)
      source = Self.fallbackSample
    } else {
      page.paragraph("No sample image: give one with --sample.")
      return
    }
    page.paragraph(
      "Input: \(source), as the model sees it, then the maps after each convolution "
        + "(viridis, each map stretched to its own range).")
    let picture = ImageTensor.image(from: input)
    let scale = GridLayout.automaticScale(
      tileWidth: picture.width, tileHeight: picture.height, target: 112)
    var enlarged = Canvas(width: picture.width * scale, height: picture.height * scale)
    enlarged.draw(picture, x: 0, y: 0, scale: scale)
    var images = [(try PictureFile.png(enlarged.image), "input")]
    for index in LayerActivations.convolutionLayers(of: file.spec) {
      let maps = try LayerActivations.compute(model: file, input: input, through: index)
      let grid = FeatureMaps.grid(maps, maxTileSide: 128)
      images.append((try PictureFile.png(grid.render()), file.spec.layerNames[index]))
    }
    page.gallery(images)
  }
}
