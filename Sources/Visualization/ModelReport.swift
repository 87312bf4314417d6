import Datasets
import Engine
import ModelFormats
import Tensors
import Training

/// The HTML page of `convviz report`, composed from its parts: the model
/// summary, the training curves, the evaluation (through Training's one
/// evaluation routine), the filters and the feature maps of a sample.
public enum ModelReport {
  /// Data to evaluate the model on, its labels already matched to the
  /// model's classes (`Dataset.matchingClasses`).
  public struct EvaluationData: Sendable {
    /// How the page names the data, e.g. "test split of data/mnist".
    public var description: String
    public var data: Dataset
    public var match: ClassMatch

    public init(description: String, data: Dataset, match: ClassMatch) {
      self.description = description
      self.data = data
      self.match = match
    }
  }

  /// A model input (1, C, H, W) whose feature maps are shown, and what it is.
  public struct Sample: Sendable {
    public var input: Tensor
    public var source: String
    /// The input as values in [0, 1] for its picture, when the model's
    /// preprocessing changed them (mean, std); nil: `input` itself.
    public var picture: Tensor?

    public init(input: Tensor, source: String, picture: Tensor? = nil) {
      self.input = input
      self.source = source
      self.picture = picture
    }
  }

  /// The page for `model`, read from `modelPath`.
  ///
  /// - Parameters:
  ///   - sample: the feature maps' input; nil takes the first evaluated
  ///     sample, and without data the section says that no sample was given.
  ///   - examplesPerClass: misclassified samples shown per true class.
  public static func page(
    modelPath: String, model: ModelFile, evaluating evaluation: EvaluationData? = nil,
    sample: Sample? = nil, examplesPerClass: Int = 8, batchSize: Int = 100
  ) throws(VisualizationError) -> HTMLReport {
    try page(
      modelPath: modelPath, model: LoadedModel(model), evaluating: evaluation, sample: sample,
      examplesPerClass: examplesPerClass, batchSize: batchSize)
  }

  /// The page for any loaded model: a model file's spec table and training
  /// curves, or an imported model's graph table (it has no history).
  public static func page(
    modelPath: String, model: LoadedModel, evaluating evaluation: EvaluationData? = nil,
    sample: Sample? = nil, examplesPerClass: Int = 8, batchSize: Int = 100
  ) throws(VisualizationError) -> HTMLReport {
    var page = HTMLReport(title: "convviz report: \(baseName(modelPath))")
    switch model.source {
    case .modelFile(let file):
      summarySection(modelPath, file, into: &page)
      try curvesSection(file.metadata.history, into: &page)
    case .onnx, .keras:
      graphSection(modelPath, model, into: &page)
      try curvesSection([], into: &page)
    }
    if let evaluation {
      try evaluationSection(
        model, evaluation, examplesPerClass: examplesPerClass, batchSize: batchSize,
        into: &page)
    }
    try filtersSection(model, into: &page)
    let first = evaluation.flatMap { data in
      data.data.count > 0
        ? Sample(
          input: data.data.batch([0]).images, source: "the first evaluated sample",
          picture: data.data.slice(0..<1).images)
        : nil
    }
    try featureMapsSection(model, sample: sample ?? first, into: &page)
    return page
  }

  private static func summarySection(_ path: String, _ file: ModelFile, into page: inout HTMLReport)
  {
    let summary = ModelSummary(file.spec)
    let m = file.metadata
    page.heading("Model")
    page.paragraph(
      "\(path): \(m.epochsCompleted) epoch\(m.epochsCompleted == 1 ? "" : "s") on "
        + "\(m.dataset.isEmpty ? "unnamed data" : m.dataset), "
        + "batch size \(m.batchSize), validation split \(m.validationSplit), seed \(m.seed), "
        + "optimizer \(m.optimizer), inputs resized by \(m.resize.rawValue).")
    page.table(
      header: ["Layer (type)", "Output shape", "Param #", "Formula"],
      rows: summary.rows.map {
        [
          "\($0.name) (\($0.type))", $0.outputShape.description, groupedDigits($0.parameterCount),
          $0.formula,
        ]
      } + [["Total", "", groupedDigits(summary.totalCount), ""]],
      numericColumns: [2])
  }

  private static func graphSection(
    _ path: String, _ model: LoadedModel, into page: inout HTMLReport
  ) {
    let summary = GraphSummary(model.network)
    page.heading("Model")
    page.paragraph("\(path): an imported graph, node by node (NCHW shapes).")
    page.table(
      header: ["Node (operation)", "Output shape", "Param #", "Reads"],
      rows: summary.rows.map {
        [
          "\($0.name) (\($0.kind))", "(None" + $0.outputShape.dims.map { ", \($0)" }.joined() + ")",
          groupedDigits($0.parameterCount), $0.reads.joined(separator: ", "),
        ]
      } + [["Total", "", groupedDigits(summary.totalCount), ""]],
      numericColumns: [2])
  }

  private static func curvesSection(
    _ history: [EpochRecord], into page: inout HTMLReport
  )
    throws(VisualizationError)
  {
    page.heading("Training")
    guard !history.isEmpty else {
      page.paragraph("The model has no training history.")
      return
    }
    page.gallery([
      (try PictureFile.png(TrainingCurves.lossPlot(history).render()), "loss per epoch"),
      (try PictureFile.png(TrainingCurves.accuracyPlot(history).render()), "accuracy per epoch"),
    ])
  }

  private static func evaluationSection(
    _ model: LoadedModel, _ evaluation: EvaluationData, examplesPerClass: Int, batchSize: Int,
    into page: inout HTMLReport
  ) throws(VisualizationError) {
    let data = evaluation.data
    let names = evaluation.match.modelClasses
    var network = model.network
    let result: Evaluation
    do {
      result = try network.evaluation(on: data, input: model.input, batchSize: batchSize)
    } catch {
      throw .evaluation(error)
    }
    let correct = zip(result.predicted, data.labels).filter { $0 == $1 }.count
    page.heading("Evaluation")
    page.paragraph(
      "\(evaluation.description): \(data.count) samples, accuracy "
        + NumberText.fixed(100 * result.accuracy, 2) + "% (\(correct)/\(data.count)).")
    let match = evaluation.match
    if !match.absentClasses.isEmpty {
      page.paragraph(
        "Not in the data, so not scored: "
          + match.absentClasses.map { names[$0] }.joined(separator: ", ") + ".")
    }
    if !match.skippedClasses.isEmpty {
      page.paragraph(
        "Skipped \(match.skippedSamples) samples of classes the model does not know: "
          + match.skippedClasses.map { "\($0.name) (\($0.samples))" }.joined(separator: ", ")
          + ".")
    }
    let confusion = ConfusionMatrixPlot(counts: result.confusion, classNames: names)
    let matrix = confusion.render()
    // Shown at twice its size: the pixel font stays crisp (image-rendering: pixelated).
    page.image(
      png: try PictureFile.png(matrix), alt: "confusion matrix",
      caption: "rows: true class, columns: predicted class; shade = share of the row",
      displayWidth: 2 * matrix.width)
    page.heading("Misclassified examples", level: 3)
    let errors = MisclassifiedExamples.grids(
      images: data.images, labels: data.labels, predicted: result.predicted, classNames: names,
      perClass: examplesPerClass)
    if errors.isEmpty { page.paragraph("None: every sample was classified correctly.") }
    for classErrors in errors {
      page.image(
        png: try PictureFile.png(classErrors.grid.render()),
        alt: "errors of \(names[classErrors.classIndex])",
        caption: "true \(names[classErrors.classIndex]): \(classErrors.errorCount) wrong")
    }
  }

  private static func filtersSection(
    _ file: LoadedModel, into page: inout HTMLReport
  )
    throws(VisualizationError)
  {
    page.heading("Filters")
    page.paragraph(
      "Blue = negative, white = zero, red = positive weights; one colour scale per layer.")
    for index in LayerActivations.convolutionLayers(of: file) {
      let conv = try LayerActivations.convolution(file, layer: index)
      let dims = conv.kernel.shape.dims
      let view: ChannelView = dims[2] * dims[3] <= 1024 ? .mosaic : .mean
      var picture = WeightGrid(
        kernel: conv.kernel,
        title: WeightGrid.title(layer: conv.name, kernelShape: dims, view: view))
      picture.view = view
      var images = [(try PictureFile.png(picture.render()), "\(conv.name)")]
      let colour = WeightGrid(kernel: conv.kernel, title: "\(conv.name) as colour")
      if let rgb = colour.renderRGB() {
        images.append((try PictureFile.png(rgb), "\(conv.name) in colour"))
      }
      page.gallery(images)
    }
  }

  private static func featureMapsSection(
    _ file: LoadedModel, sample: Sample?, into page: inout HTMLReport
  ) throws(VisualizationError) {
    guard case .image(_, _, let channels) = file.input, channels == 1 || channels == 3 else {
      return
    }
    page.heading("Feature maps")
    guard let sample else {
      page.paragraph("No sample image: give one with --sample.")
      return
    }
    page.paragraph(
      "Input: \(sample.source), as the model sees it, then the maps after each convolution "
        + "(viridis, each map stretched to its own range).")
    let picture = ImageTensor.image(from: sample.picture ?? sample.input)
    let scale = GridLayout.automaticScale(
      tileWidth: picture.width, tileHeight: picture.height, target: 112)
    var enlarged = Canvas(width: picture.width * scale, height: picture.height * scale)
    enlarged.draw(picture, x: 0, y: 0, scale: scale)
    var images = [(try PictureFile.png(enlarged.image), "input")]
    for index in LayerActivations.convolutionLayers(of: file) {
      let maps = try FeatureMapBands.displayMaps(
        model: file, input: sample.input, through: index, maxTileSide: 128)
      let picture = FeatureMaps.picture(maps, maxTileSide: 128)
      images.append((try PictureFile.png(picture.image), file.layers[index].name))
    }
    page.gallery(images)
  }

  /// "out/model.bin" → "model".
  private static func baseName(_ path: String) -> String {
    let file = path.split(separator: "/").last.map(String.init) ?? path
    guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
    return String(file[..<dot])
  }
}
