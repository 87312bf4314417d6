import ArgumentParser
import Files
import ModelFormats

/// `convviz export model.bin -o model.onnx`: a trained model as ONNX.
struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write a trained model as an ONNX file for onnxruntime and other runtimes.",
    discussion: """
      The ONNX model (opset \(ONNXModel.exportOpset)) takes input (N, C, H, W), the layout \
      convviz computes in; the layer names, class names and spec are kept in it. \
      An ONNX model is written back as convviz runs it (one node per engine node, \
      batch normalisation folded into its convolution). \
      -o names the file (default output/<model-stem>.onnx).
      """)

  @Argument(
    help: ArgumentHelp(
      "A model file written by `convviz train`, or an ONNX model.", valueName: "model"))
  var model: String

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp("The ONNX file (default: output/<model-stem>.onnx).", valueName: "file"))
  var output: String?

  @OptionGroup var memory: MemoryOptions

  func validate() throws {
    try ModelArgument.checkName(model)
    try NamedPath.refuseCollisions(
      outputs: [NamedPath(role: "the ONNX file (-o)", path: try destination().path ?? "")],
      inputs: [NamedPath(role: "the model", path: model)])
  }

  private func destination() throws -> SingleOutput {
    try SingleOutput(output, defaultPath: "output/\(OutputPaths.stem(of: model)).onnx")
  }

  func run() throws {
    if let onnx = try ModelArgument.readONNX(model) {
      return try exportGraph(of: onnx)
    }
    guard case .modelFile(let path, let file) = try ModelArgument.resolve(model, memory: memory)
    else {
      throw CommandFailure.usage(
        "\(model) is a preset or spec without weights; export a model file from `convviz train`")
    }
    let onnx = ONNXModel(exporting: file)
    let target = try destination()
    try target.prepare()
    try onnx.write(to: target.path ?? "")
    Terminal.say(
      "wrote \(Terminal.escaped(target.name)) (ONNX opset \(onnx.opset), "
        + "input (N, \(file.spec.input.tensorShape.dims.map(String.init).joined(separator: ", "))) "
        + "from \(Terminal.escaped(path)))")
  }

  /// An ONNX model as the engine runs it, its metadata kept.
  private func exportGraph(of source: ONNXModel) throws {
    let network = try source.makeNetwork(path: model)
    let onnx: ONNXModel
    do {
      onnx = try ONNXModel(exporting: network.graph, metadata: source.metadata)
    } catch {
      throw ModelFileError.onnx(path: model, error)
    }
    let target = try destination()
    try target.prepare()
    try onnx.write(to: target.path ?? "")
    let dims = network.inputShape.dims.map(String.init).joined(separator: ", ")
    Terminal.say(
      "wrote \(Terminal.escaped(target.name)) (ONNX opset \(onnx.opset), input (N, \(dims)) "
        + "from \(Terminal.escaped(model)))")
  }
}
