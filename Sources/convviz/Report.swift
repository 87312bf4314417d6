import ArgumentParser
import Datasets
import Files
import Foundation
import ImageCodecs
import ModelFormats
import Training
import Visualization

/// `convviz report`: one self-contained HTML page about a trained model.
struct Report: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Write a self-contained HTML report about a trained model.",
    discussion: """
      The page (default output/report.html) has the model summary, the
      training curves, the filters of every Conv2D layer and the feature
      maps of a sample image; with --data also the test accuracy, the
      confusion matrix and misclassified examples of every class; and
      Explanations: Grad-CAM of a few correct and misclassified test images
      (or of the sample), the first convolution's maximizing images and
      top patches (bounded: 8 units, 64 steps, the first 1000 samples;
      --no-explanations leaves the section out). Images
      are inlined as PNG data URIs: no scripts, no network, one file to
      share. The sample image is --sample, else the first test sample of
      --data, else samples/astronaut.png. -o names the page's file (an
      existing folder gets report.html inside; - writes the page to
      standard output).
      """)

  @Argument(help: ModelArgument.help)
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

  @OptionGroup var labels: LabelsOption
  @OptionGroup var unknownClasses: UnknownClassesOption
  @OptionGroup var input: ModelInputOptions
  @OptionGroup var memory: MemoryOptions
  @OptionGroup var architecture: ArchitectureOption

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Misclassified examples shown per class.", valueName: "n"))
  var examples = 8

  @Flag(
    name: .customLong("explanations"), inversion: .prefixedNo,
    help: "Include the Explanations section (Grad-CAM, maximizing images, top patches).")
  var explanations = true

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

  @OptionGroup var decoding: DecodingOptions
  @OptionGroup var folderReading: ImageFolderOptions

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
    let file = try ModelArgument.loadModel(
      model, memory: memory, input: input, architecture: architecture.architecture)
    let evaluation = try data.map { folder throws in try evaluationData(file, folder: folder) }
    let sample = try sampleInput(file)
    var page = try ModelReport.page(
      modelPath: model, model: file, evaluating: evaluation, sample: sample,
      examplesPerClass: examples)
    if explanations {
      try explanationsSection(file, evaluation: evaluation, sample: sample, into: &page)
    }
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

  /// The test split of `folder` (all of it without one), shaped for the
  /// model and with its classes matched to the model's by name.
  private func evaluationData(
    _ file: LoadedModel, folder: String
  ) throws
    -> ModelReport.EvaluationData
  {
    let (mode, preprocessing) = try input.settings(for: file, path: model)
    let splits = try labels.load(
      folder, limit: limit, for: file.input, resize: mode,
      shorterSide: preprocessing.shorterSide, seed: file.seed,
      decodeOptions: decoding.decodeOptions, folderOptions: folderReading)
    guard let classCount = file.classCount else {
      throw CommandFailure("\(model): the model's output is not one score per class")
    }
    var (dataset, match) = try (splits.test ?? splits.train).matchingClasses(
      of: file.classNames, classCount: classCount,
      ignoringUnknown: unknownClasses.ignoreUnknownClasses)
    dataset.preprocessing = preprocessing
    let part = splits.test == nil ? "\(folder) (no separate test split)" : "test split of \(folder)"
    try checkEvaluationMemory(dataset, model: file, folder: folder)
    return ModelReport.EvaluationData(description: part, data: dataset, match: match)
  }

  /// --sample as the model sees it; without --sample and --data, the
  /// fallback photo when it exists (with --data the report shows the first
  /// evaluated sample).
  private func sampleInput(_ file: LoadedModel) throws -> ModelReport.Sample? {
    guard case .image(_, _, let channels) = file.input, channels == 1 || channels == 3 else {
      return nil
    }
    let path: String
    if let sample {
      path = sample
    } else if data == nil, FileManager.default.fileExists(atPath: Self.fallbackSample) {
      path = Self.fallbackSample
    } else {
      return nil
    }
    let input = try readSample(path, file: file, channels: channels)
    let preprocessing = try self.input.settings(for: file, path: model).preprocessing
    return ModelReport.Sample(
      input: input, source: path,
      picture: PixelConversion.displayValues(input, preprocessing))
  }
}
