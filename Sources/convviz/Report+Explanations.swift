import Datasets
import Engine
import Explain
import Foundation
import ImageCodecs
import ModelFormats
import Tensors
import Visualization

/// The report's "Explanations" section: Grad-CAM of a few correctly and a
/// few wrongly classified test images, and what the first convolution's
/// units respond to (maximizing images, top dataset patches). Every part
/// is bounded so that the report of a MNIST model takes seconds.
extension Report {
  /// The bounds of the section's work.
  enum ExplanationBounds {
    /// Correct and misclassified images explained (each).
    static let images = 4
    /// Samples searched for them, and scanned for top patches.
    static let scannedSamples = 1000
    /// Units of the first convolution drawn (maximized and top patches).
    static let units = 8
    /// Gradient-ascent steps per maximizing image (the command's default is 256).
    static let maximizeSteps = 64
    /// Top patches per unit.
    static let patches = 6
  }

  /// Appends the section to `page`; nothing for a model that does not take
  /// 1- or 3-channel images.
  func explanationsSection(
    _ file: LoadedModel, evaluation: ModelReport.EvaluationData?, sample: ModelReport.Sample?,
    into page: inout HTMLReport
  ) throws {
    guard case .image(_, _, let channels) = file.input, channels == 1 || channels == 3 else {
      return
    }
    page.heading("Explanations")
    var explainer = Explainer(network: file.network)
    guard let layer = explainer.defaultLayer, let first = Self.firstConvolution(explainer) else {
      page.paragraph("The model has no convolution with spatial maps to explain.")
      return
    }
    let names = evaluation?.match.modelClasses ?? file.classNames
    func name(_ k: Int) -> String { k < names.count ? names[k] : String(k) }

    page.heading("Grad-CAM", level: 3)
    page.paragraph(
      "Grad-CAM at \(layer) (convviz explain --method gradcam) for the predicted class: "
        + "which parts of the image raised its score (viridis, bright = more), with the "
        + "predicted class's probability.")
    var figures: [([UInt8], String)] = []
    if let evaluation {
      let data = evaluation.data
      let picked = try Self.correctAndWrong(
        data, explainer: &explainer, limit: ExplanationBounds.scannedSamples,
        each: ExplanationBounds.images)
      for (index, predicted) in picked.correct + picked.wrong {
        let input = data.batch([index]).images
        let attribution = try explainer.explain(
          input, classIndex: predicted, method: .gradCAM(layer: layer))
        let truth = data.labels[index]
        let caption =
          (truth == predicted ? "\(name(truth))" : "true \(name(truth)), said \(name(predicted))")
          + " p=\(TextFormat.fixed(Double(attribution.probability), 2))"
        figures.append(
          (
            try Self.overlay(
              PixelConversion.displayValues(input, data.preprocessing), attribution.map,
              caption: caption),
            "sample \(index): " + caption
          ))
      }
      if picked.wrong.isEmpty {
        page.paragraph(
          "No misclassified image among the first \(min(data.count, ExplanationBounds.scannedSamples)) samples."
        )
      }
    } else if let sample {
      // The sample as `explain` takes it: at the model's input size.
      let (mode, preprocessing) = try input.settings(for: file, path: model)
      let shape = file.network.inputShape
      let tensor = try Predict.modelInput(
        try decoding.read(sample.source), path: sample.source, channels: channels,
        height: shape[1], width: shape[2], resize: mode, preprocessing: preprocessing)
      let ranked = try explainer.rankedClasses(tensor)
      let attribution = try explainer.explain(
        tensor, classIndex: ranked[0].0, method: .gradCAM(layer: layer))
      let caption = "\(name(ranked[0].0)) p=\(TextFormat.fixed(Double(ranked[0].1), 2))"
      figures.append(
        (
          try Self.overlay(
            PixelConversion.displayValues(tensor, preprocessing), attribution.map,
            caption: caption),
          sample.source + ": " + caption
        ))
    } else {
      page.paragraph("No image to explain: give --data or --sample.")
    }
    if !figures.isEmpty { page.gallery(figures) }

    let units = Array(
      0..<min(
        ExplanationBounds.units,
        try explainer.unitCount(
          of: .channel(layer: first), inputShape: file.network.inputShape)))
    page.heading("What the first convolution's units respond to", level: 3)
    var settings = MaximizationSettings()
    settings.steps = ExplanationBounds.maximizeSteps
    settings.preprocessing = try input.settings(for: file, path: model).preprocessing
    let shape = file.network.inputShape
    settings.jitter = max(1, max(shape[1], shape[2]) / 16)
    let maximized = try explainer.maximize(
      .channel(layer: first), units: units, shape: shape, settings: settings
    ) { _ in }
    var pictures = [
      (
        try PictureFile.png(
          Maximize.grid(maximized, classNames: [], height: shape[1], width: shape[2])),
        "units \(units.first ?? 0)–\(units.last ?? 0) of \(first): the input that excites each "
          + "most (convviz maximize --layer \(first) --steps \(settings.steps))"
      )
    ]
    if let evaluation {
      pictures.append(
        (
          try PictureFile.png(
            try Self.topPatches(file, evaluation.data, layer: first, units: units)),
          "the \(ExplanationBounds.patches) crops of the first "
            + "\(min(evaluation.data.count, ExplanationBounds.scannedSamples)) samples that "
            + "excite each unit most (convviz top-patches --layer \(first))"
        ))
    }
    page.gallery(pictures)
  }

  /// The first convolution's output, or that of the activation reading it
  /// alone (a model file's `conv2d 32 3 relu` row).
  static func firstConvolution(_ explainer: Explainer) -> String? {
    let nodes = explainer.network.graph.nodes
    guard let k = nodes.firstIndex(where: { $0.op.kind == "Conv2D" }) else { return nil }
    let readers = nodes.filter { $0.inputs.contains(nodes[k].output) }
    if readers.count == 1, readers[0].op.kind == "Activation" { return readers[0].output }
    return nodes[k].output
  }

  /// The first `each` correctly and wrongly classified samples (index and
  /// predicted class) among the first `limit`, scored in batches.
  static func correctAndWrong(
    _ data: Dataset, explainer: inout Explainer, limit: Int, each: Int
  ) throws -> (correct: [(Int, Int)], wrong: [(Int, Int)]) {
    var correct: [(Int, Int)] = []
    var wrong: [(Int, Int)] = []
    let end = min(data.count, limit)
    let classes = explainer.classCount
    for start in stride(from: 0, to: end, by: 100) {
      let range = start..<min(start + 100, end)
      let (images, labels) = data.batch(range)
      let scores = try explainer.scores(images).storage
      for (n, label) in labels.enumerated() {
        let row = scores[(n * classes)..<((n + 1) * classes)]
        let predicted = row.indices.max { row[$0] < row[$1] }.map { $0 - n * classes } ?? 0
        if predicted == label {
          if correct.count < each { correct.append((start + n, predicted)) }
        } else if wrong.count < each {
          wrong.append((start + n, predicted))
        }
      }
      if correct.count >= each, wrong.count >= each { break }
    }
    return (correct, wrong)
  }

  /// The map over the picture (1, C, H, W in 0…1), as `explain` draws it.
  static func overlay(_ picture: Tensor, _ map: Tensor, caption: String) throws -> [UInt8] {
    try PictureFile.png(
      AttributionOverlay.picture(
        photo: ImageTensor.image(from: picture), map: map, colorMap: .viridis,
        caption: caption, minimumSide: 112
      ).image)
  }

  /// The top-patches grid of `units` of `layer` over the first samples.
  static func topPatches(
    _ file: LoadedModel, _ data: Dataset, layer: String, units: [Int]
  ) throws -> Image {
    let graph = file.network.graph
    let field = try ReceptiveField.of(layer, in: graph)
    guard let node = graph.nodes.firstIndex(where: { $0.output == layer }) else {
      preconditionFailure("the layer is a node's output")
    }
    var collector = TopPatches(
      k: ExplanationBounds.patches, units: graph.tensorShapes[node + 1][0], field: field)
    var network = file.network
    let end = min(data.count, ExplanationBounds.scannedSamples)
    for start in stride(from: 0, to: end, by: 100) {
      let (images, _) = data.batch(start..<min(start + 100, end))
      collector.add(
        images: PixelConversion.displayValues(images, data.preprocessing),
        activation: try network.activation(of: layer, for: images))
    }
    let patches = collector.patches()
    return TopPatchesCommand.grid(units.map { patches[$0] }, units: units)
  }
}
