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
      -o names the file (default output/<model-stem>.onnx).
      """)

  @Argument(
    help: ArgumentHelp(
      "A model file written by `convviz train`, or a Sequential Keras model (.keras, .h5).",
      valueName: "model"))
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
    let path = model
    let file: ModelFile
    if let keras = try ModelArgument.readKeras(model, memory: memory) {
      file = try modelFile(keras)
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

  /// A Keras model as a convviz model file: a Sequential model's own layers,
  /// or a weights-only file's with `--architecture`.
  private func modelFile(_ keras: KerasModel) throws -> ModelFile {
    let path = model
    let spec: ModelSpec?
    switch (keras.architecture, architecture.architecture) {
    case (nil, nil): throw ModelFileError.keras(path: path, .weightsWithoutArchitecture)
    case (nil, let name?):
      spec = try ModelArgument.resolve(name, allowModelFile: false, memory: memory).spec
    case (_?, nil): spec = nil
    case (_?, _?):
      throw CommandFailure.usage(
        "\(path) holds its own architecture; --architecture is for weights-only Keras files")
    }
    do {
      return try keras.modelFile(spec: spec)
    } catch {
      throw ModelFileError.keras(path: path, error)
    }
  }
}
