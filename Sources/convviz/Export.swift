import ArgumentParser
import Engine
import Files
import ModelFormats

/// `convviz export model.bin -o model.onnx`: a trained model as ONNX.
struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write a trained model as an ONNX file for onnxruntime and other runtimes.",
    discussion: """
      The ONNX model (opset \(ONNXModel.exportOpset)) takes input (N, C, H, W), the layout \
      convviz computes in; the layer names, class names and spec are kept in it. \
      An ONNX model is written back as convviz runs it (one node per engine node, \
      batch normalisation folded into its convolution). \
      -o names the file (default output/<model-stem>.onnx).
      """)

  @Argument(help: ModelArgument.help)
  var model: String

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp("The ONNX file (default: output/<model-stem>.onnx).", valueName: "file"))
  var output: String?

  @OptionGroup var memory: MemoryOptions
  @OptionGroup var architecture: ArchitectureOption

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
      return try exportGraph(of: onnx.makeNetwork(path: model), metadata: onnx.metadata) {
        .onnx(path: model, $0)
      }
    }
    let path = model
    let file: ModelFile
    if let keras = try ModelArgument.readKeras(model, memory: memory) {
      if keras.architecture != nil {
        if architecture.architecture != nil {
          throw CommandFailure.usage(
            "\(model) holds its own architecture; --architecture is for weights-only Keras files")
        }
        return try exportGraph(of: keras.makeNetwork(path: model), metadata: []) {
          .onnx(path: model, $0)
        }
      }
      file = try weightsFile(keras)
    } else if case .modelFile(_, let trained) = try ModelArgument.resolve(model, memory: memory) {
      file = trained
    } else {
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

  /// A weights-only Keras file as a convviz model file, with the layers of
  /// `--architecture`.
  private func weightsFile(_ keras: KerasModel) throws -> ModelFile {
    guard let name = architecture.architecture else {
      throw ModelFileError.keras(path: model, .weightsWithoutArchitecture)
    }
    let spec = try ModelArgument.resolve(name, allowModelFile: false, memory: memory).spec
    do {
      return try keras.modelFile(spec: spec)
    } catch {
      throw ModelFileError.keras(path: model, error)
    }
  }

  /// An imported model (ONNX or Keras) as the engine runs it, with
  /// `metadata` kept.
  private func exportGraph(
    of network: Network, metadata: [ONNXMetadataEntry],
    failure: (ONNXProblem) -> ModelFileError
  ) throws {
    let onnx: ONNXModel
    do {
      onnx = try ONNXModel(exporting: network.graph, metadata: metadata)
    } catch {
      throw failure(error)
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
