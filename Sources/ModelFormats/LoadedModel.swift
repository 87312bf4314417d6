import Engine
import Tensors

/// A model ready to run and look inside, whatever file it came from: what
/// `predict`, `evaluate`, `dump-weights`, `featuremaps` and `report` need,
/// so that they do not ask which format they were given.
///
/// The common ground is the engine's graph: a `model.bin` is built from its
/// spec (`ModelSpec.makeGraph`), an ONNX model is imported
/// (`ONNXModel.makeGraph`), and so is a Keras model (`KerasModel.makeGraph`;
/// a weights-only Keras file with a spec becomes a `ModelFile`). Layers are
/// the rows `convviz summary` numbers: the spec's rows for a `model.bin`,
/// the graph's nodes for an ONNX or Keras model.
public struct LoadedModel: Sendable {
  /// The file the model was read from, for what only it has (training
  /// history, the spec's memory estimates).
  public enum Source: Sendable {
    case modelFile(ModelFile)
    case onnx(ONNXModel)
    case keras(KerasModel)
  }

  /// One numbered layer: a spec row, or a graph node.
  public struct Layer: Sendable, Equatable {
    public var name: String
    /// Keras-style kind, e.g. "Conv2D", "MaxPooling2D".
    public var kind: String
    /// The graph tensor holding the layer's output: for a convolution
    /// directly followed by an activation (the only reader of its output),
    /// the activation's output, as a Keras row computes it.
    public var tensor: String
    /// Whether the output is still an image (feature maps can be drawn).
    public var hasMaps: Bool
    /// The layer's weights, named `LAYER/kernel`, `LAYER/bias` (Conv
    /// kernels HWIO, Dense kernels (in, out)).
    public var weights: [NamedTensor]

    public var isConvolution: Bool { kind == "Conv2D" }
  }

  public let source: Source
  /// The network for inference.
  public let network: Network
  /// The per-sample input: an image (height, width, channels), computed as
  /// (C, H, W), or flat features.
  public let input: FeatureShape
  /// One name per output class when the file names them; else empty.
  public let classNames: [String]
  /// How images of another size are brought to the input by default.
  public let resize: ResizeMode
  /// What pixel values become on the way in (scale, channel order, mean,
  /// std, torchvision's shorter side): the standard [0, 1] for convviz's
  /// own models, else what the file's metadata records.
  public internal(set) var preprocessing = Preprocessing.standard
  public let layers: [Layer]

  /// The seed training shuffled image folders with (0 for an imported
  /// model), so that evaluation sees them in the same order.
  public var seed: UInt64 {
    if case .modelFile(let file) = source { return file.metadata.seed }
    return 0
  }

  /// One line on where the model comes from: "8 epochs on mnist", or the
  /// ONNX producer.
  public var origin: String {
    switch source {
    case .modelFile(let file):
      let epochs = file.metadata.epochsCompleted
      return "\(epochs) epoch\(epochs == 1 ? "" : "s") on \(file.metadata.dataset)"
    case .onnx(let model):
      let producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }
      return "ONNX opset \(model.opset)"
        + (producer.isEmpty ? "" : ", from " + producer.joined(separator: " "))
    case .keras(let model):
      let kind = model.architecture?.className ?? "weights"
      return "\(model.format.rawValue), \(kind)"
        + (model.kerasVersion.map { ", saved by Keras \($0)" } ?? "")
    }
  }

  /// Every weight, layer by layer.
  public var parameters: [NamedTensor] { layers.flatMap(\.weights) }

  /// The number of classes when the output is one score per class.
  public var classCount: Int? {
    network.outputShape.rank == 1 ? network.outputShape[0] : nil
  }

  /// The spec, for a `model.bin`.
  public var spec: ModelSpec? {
    if case .modelFile(let file) = source { return file.spec }
    return nil
  }

  /// A trained model file.
  public init(_ file: ModelFile) {
    let spec = file.spec
    source = .modelFile(file)
    network = file.makeModel()
    input = spec.input
    classNames = file.metadata.classNames.count == spec.classCount ? file.metadata.classNames : []
    resize = file.metadata.resize
    preprocessing = file.preprocessing
    var spatial = true
    layers = spec.layers.indices.map { row in
      let name = spec.layerNames[row]
      switch spec.layers[row] {
      case .flatten, .dense: spatial = false
      default: break
      }
      return Layer(
        name: name, kind: spec.layers[row].kerasType, tensor: spec.tensorName(ofRow: row),
        hasMaps: spatial, weights: file.parameters.filter { $0.name.hasPrefix(name + "/") })
    }
  }

  /// An ONNX model imported into the engine; `path` names the file in
  /// errors. Class names, the resize mode and the preprocessing come from
  /// the metadata convviz's export writes (`convviz.class_names`,
  /// `convviz.resize`, `Preprocessing.metadataEntries`). `inputSize` gives
  /// the height and width of an image input whose file leaves them open
  /// (symbolic or unknown); sizes the file fixes stay.
  public init(
    _ model: consuming ONNXModel, path: String, inputSize: (height: Int, width: Int)? = nil
  ) throws(ModelFileError) {
    var model = model
    if let inputSize { model.fixOpenImageSize(height: inputSize.height, width: inputSize.width) }
    // The weights move into the network, in its own layouts; the source
    // keeps the rest (producer, opset, metadata), not a second copy.
    let network = try model.takeNetwork(path: path)
    source = .onnx(model)
    self.network = network
    input = FeatureShape(network.inputShape)
    let names =
      model.metadataValue("convviz.class_names")?.split(
        separator: "\n", omittingEmptySubsequences: false
      ).map(String.init) ?? []
    let classes = network.outputShape.rank == 1 ? network.outputShape[0] : nil
    classNames = names.count == classes ? names : []
    resize = model.metadataValue("convviz.resize").flatMap(ResizeMode.init(rawValue:)) ?? .fill
    layers = Self.layers(of: network.graph)
    do {
      preprocessing = try Preprocessing(metadata: model.metadataValue)
    } catch {
      throw .malformed(path: path, reason: error.description)
    }
  }

  /// A Keras model (`.keras`, or a legacy `.h5` holding its architecture)
  /// imported into the engine; `path` names the file in errors. Keras files
  /// keep no class names, and images are brought to the input by `fill`.
  public init(_ model: KerasModel, path: String) throws(ModelFileError) {
    let network = try model.makeNetwork(path: path)
    source = .keras(model)
    self.network = network
    input = FeatureShape(network.inputShape)
    classNames = []
    resize = .fill
    layers = Self.layers(of: network.graph)
  }

  /// One layer per node; a Conv2D's output is read after the activation
  /// that is its only reader.
  static func layers(of graph: Graph) -> [Layer] {
    var readers: [String: [Int]] = [:]
    for (k, node) in graph.nodes.enumerated() {
      for name in node.inputs { readers[name, default: []].append(k) }
    }
    let shapes = graph.tensorShapes.dropFirst()
    return graph.nodes.indices.map { k in
      let node = graph.nodes[k]
      var tensor = node.output
      if node.op.kind == "Conv2D", node.output != graph.output,
        let list = readers[node.output], list.count == 1,
        graph.nodes[list[0]].op is Activation, graph.nodes[list[0]].inputs.count == 1
      {
        tensor = graph.nodes[list[0]].output
      }
      var op = node.op
      var weights: [NamedTensor] = []
      op.forEachParameter {
        weights.append(NamedTensor(name: node.name + "/" + $0.name, tensor: $0.value))
      }
      return Layer(
        name: node.name, kind: node.op.kind, tensor: tensor,
        hasMaps: shapes[shapes.startIndex + k].rank == 3, weights: weights)
    }
  }

  /// Inference on batches of `batchSize` samples shaped `input` (default:
  /// the model's) through layer `last` (default: all): for a `model.bin`
  /// the spec's estimate; otherwise the weights and, per sample, the input
  /// and the two largest tensors of the graph at that input.
  public func inferenceMemory(
    batchSize: Int, input: FeatureShape? = nil, through last: Int? = nil
  ) -> MemoryEstimate {
    if let spec { return spec.inferenceMemory(batchSize: batchSize, input: input, through: last) }
    let shape = (input ?? self.input).tensorShape
    let shapes = tensorShapes(input: shape, through: last) ?? network.graph.tensorShapes
    let counts = shapes.map { checkedProduct($0.dims) ?? Int.max }
    let largest = counts.dropFirst().sorted(by: >).prefix(2)
    let weights = MemoryEstimate.sum(parameters.map { .floats($0.tensor.count) })
    return weights
      + MemoryEstimate.sum([.floats(shape.count)] + largest.map { .floats($0) }) * batchSize
  }

  /// The per-sample output shape of layer `last` for an input of any size
  /// (a photo for feature maps), or nil when a window no longer fits.
  public func outputShape(forInput input: FeatureShape, through last: Int) -> FeatureShape? {
    if let spec { return spec.outputShape(forInput: input, through: last) }
    guard let shape = tensorShapes(input: input.tensorShape, through: last)?.last else {
      return nil
    }
    return FeatureShape(shape)
  }

  /// The shapes of the graph's input and of the outputs of its nodes up to
  /// the one giving layer `last`'s tensor (all without `last`) at `input`:
  /// the nodes in order up to that one hold everything it depends on.
  func tensorShapes(input: Shape, through last: Int?) -> [Shape]? {
    let graph = network.graph
    let output = last.map { layers[$0].tensor } ?? graph.output
    guard let index = graph.nodes.firstIndex(where: { $0.output == output }) else {
      return [input]
    }
    return try? Graph(
      input: graph.input, shape: input, nodes: Array(graph.nodes[...index]), output: output
    ).tensorShapes
  }
}

extension ModelFile {
  /// What pixel values go through on the way in: convviz trains on values
  /// in [0, 1], RGB (Keras's `x / 255`), so always the standard one.
  public var preprocessing: Preprocessing { .standard }
}

extension ONNXModel {
  /// Whether the data input is (N, C, H, W) with its height or width left
  /// open (symbolic or unknown): the size must then be given to run it.
  public var hasOpenImageSize: Bool {
    guard let dims = graph.dataInputs.first?.dims, dims.count == 4 else { return false }
    return !dims[2...].allSatisfy { if case .fixed = $0 { true } else { false } }
  }

  /// Gives the open height and width axes of a 4-D (N, C, H, W) data input
  /// these sizes, so that the graph can be planned for them.
  mutating func fixOpenImageSize(height: Int, width: Int) {
    let constant = Set(graph.initializers.map(\.name))
    guard let k = graph.inputs.firstIndex(where: { !constant.contains($0.name) }),
      var dims = graph.inputs[k].dims, dims.count == 4
    else { return }
    for (axis, size) in [(2, height), (3, width)] {
      if case .fixed = dims[axis] { continue }
      dims[axis] = .fixed(size)
    }
    graph.inputs[k].dims = dims
  }
}
