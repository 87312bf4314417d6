import Engine
import Tensors

extension KerasModel {
  /// The Keras layer classes `makeGraph` turns into engine operations.
  /// A class outside this list is refused by name when the model is
  /// loaded; to add one once the engine has its operation, add a case to
  /// `KerasGraphBuilder.translate` and its name here.
  public static let supportedLayers = [
    "Activation", "Add", "AveragePooling2D", "BatchNormalization", "Concatenate", "Conv2D",
    "Dense", "DepthwiseConv2D", "Dropout", "Flatten", "GlobalAveragePooling2D",
    "GlobalMaxPooling2D", "InputLayer", "LeakyReLU", "MaxPooling2D", "Multiply", "Permute",
    "ReLU", "Reshape", "SeparableConv2D", "Softmax", "ZeroPadding2D",
  ]

  /// The activations Conv2D, Dense and Activation may name (Keras 3 writes
  /// hard_swish as hard_silu), as engine operations; nil for linear.
  static let activations: [String: (any Operation)?] = [
    "linear": nil, "relu": Activation(.relu), "sigmoid": Activation(.sigmoid),
    "tanh": Activation(.tanh), "softmax": Activation(.softmax),
    "relu6": ParametricActivation(.clip(low: 0, high: 6)),
    // Keras 3's hard_sigmoid: relu6(x + 3) / 6.
    "hard_sigmoid": ParametricActivation(.hardSigmoid(alpha: 1.0 / 6, beta: 0.5)),
    "hard_silu": ParametricActivation(.hardSwish), "hard_swish": ParametricActivation(.hardSwish),
    "leaky_relu": ParametricActivation(.leakyRelu(alpha: 0.2)),
  ]

  /// The engine graph computing this model at inference: one node per
  /// Keras layer, named after it, plus one for the activation of a Conv2D
  /// or Dense (`conv2d` writes `conv2d/linear`, `conv2d/relu` writes
  /// `conv2d`, as convviz's own models are built) and the steps of a layer
  /// that takes several (a SeparableConv2D's depthwise step, a Reshape's
  /// moves between layouts). Keras is channels-last and the engine computes
  /// images as (C, H, W), but its Flatten orders features (H, W, C) and its
  /// kernels are HWIO and (in, out) like Keras's, so every weight is used
  /// as stored; Reshape and Permute, which see the layout, are translated.
  /// A BatchNormalization right after a convolution is folded into it, as
  /// for ONNX models.
  public func makeGraph() throws(KerasProblem) -> Graph {
    guard let architecture else { throw .weightsWithoutArchitecture }
    var builder = KerasGraphBuilder(architecture: architecture, weights: weights)
    let graph = try builder.run()
    do {
      return try graph.foldingBatchNormalizations()
    } catch {
      throw .unsupportedModel(reason: "does not build: \(error)")
    }
  }

  /// The model as a `Network`; `path` names the file in errors.
  public func makeNetwork(path: String) throws(ModelFileError) -> Network {
    do {
      return Network(try makeGraph())
    } catch {
      throw .keras(path: path, error)
    }
  }
}

/// Translates the layers of an architecture in order.
struct KerasGraphBuilder {
  let architecture: KerasArchitecture
  let weights: KerasWeights
  var nodes: [Graph.Node] = []
  /// Per-sample engine shapes of the tensors made so far.
  var shapes: [String: Shape] = [:]
  var input: String?
  var inputShape: Shape?
  /// Keras 3 weight keys: the class's snake-case name, numbered per class.
  var keyCounts: [String: Int] = [:]

  /// Window sizes and strides beyond this are refused, as in specs.
  static let maximumWindow = 4096

  init(architecture: KerasArchitecture, weights: KerasWeights) {
    self.architecture = architecture
    self.weights = weights
  }

  mutating func run() throws(KerasProblem) -> Graph {
    let sequential = architecture.className == "Sequential"
    if sequential, architecture.layers.first?.className != "InputLayer" {
      guard let dims = architecture.sequentialInputShape else {
        throw .invalidConfig(reason: "Sequential model without an input shape")
      }
      try makeInput(named: "input", dims: dims)
    }
    for (k, layer) in architecture.layers.enumerated() {
      var layer = layer
      if sequential, k == 0, layer.className != "InputLayer" { layer.inputs = ["input"] }
      try translate(layer)
    }
    guard architecture.inputs.count <= 1, architecture.outputs.count == 1,
      let input, let inputShape
    else {
      throw .unsupportedModel(
        reason:
          "has \(architecture.inputs.count) inputs and \(architecture.outputs.count) outputs, "
          + "not one of each")
    }
    if let named = architecture.inputs.first, named != input {
      throw .invalidConfig(reason: "input_layers names '\(named)', not an InputLayer")
    }
    do {
      return try Graph(
        input: input, shape: inputShape, nodes: nodes, output: architecture.outputs[0])
    } catch {
      throw .unsupportedModel(reason: "does not build: \(error)")
    }
  }

  /// The Keras 3 weights key of the next layer of `className`.
  mutating func nextKey(_ className: String) -> String {
    var snake = ""
    for (i, character) in className.enumerated() {
      if character.isUppercase, i > 0 {
        let previous = className[className.index(className.startIndex, offsetBy: i - 1)]
        if previous.isLowercase || previous.isNumber { snake += "_" }
      }
      snake += character.lowercased()
    }
    let count = keyCounts[snake, default: 0]
    keyCounts[snake] = count + 1
    return count == 0 ? snake : "\(snake)_\(count)"
  }

  mutating func makeInput(named name: String, dims: [Int?]) throws(KerasProblem) {
    guard input == nil else {
      throw .unsupportedModel(reason: "has more than one input")
    }
    let sample = dims.dropFirst()
    guard sample.count == 1 || sample.count == 3,
      let fixed = Optional(sample.compactMap { $0 }), fixed.count == sample.count,
      fixed.allSatisfy({ $0 >= 1 }),
      let count = checkedProduct(fixed), count <= ModelSpec.maximumFeatureCount
    else {
      let shown = sample.map { $0.map(String.init) ?? "None" }.joined(separator: ", ")
      throw .unsupportedModel(
        reason: "input '\(name)' has shape (\(shown)); convviz runs fixed (H, W, C) images "
          + "or (F) features")
    }
    input = name
    let shape = fixed.count == 3 ? Shape(fixed[2], fixed[0], fixed[1]) : Shape(fixed[0])
    inputShape = shape
    shapes[name] = shape
  }

  // MARK: Layers

  mutating func translate(_ layer: KerasArchitecture.Layer) throws(KerasProblem) {
    let key = nextKey(layer.className)
    func refuse(_ reason: String) -> KerasProblem {
      .unsupportedSetting(layer: layer.name, className: layer.className, reason: reason)
    }
    if let format = layer.config["data_format"]?.string, format != "channels_last" {
      throw refuse("data_format \(format)")
    }
    if layer.className != "InputLayer" {
      guard !layer.inputs.isEmpty else { throw refuse("no input") }
      for name in layer.inputs where shapes[name] == nil {
        throw .invalidConfig(
          reason: "layer '\(layer.name)' reads '\(name)', which no earlier layer makes")
      }
    }
    switch layer.className {
    case "InputLayer":
      let dims =
        KerasArchitecture.shape(layer.config["batch_shape"])
        ?? KerasArchitecture.shape(layer.config["batch_input_shape"])
      guard let dims else { throw refuse("no batch_shape") }
      try makeInput(named: layer.name, dims: dims)
    case "Conv2D":
      try conv2D(layer, key: key)
    case "Dense":
      try dense(layer, key: key)
    case "DepthwiseConv2D", "SeparableConv2D":
      try separable(layer, key: key)
    case "BatchNormalization":
      try batchNormalization(layer, key: key)
    case "MaxPooling2D", "AveragePooling2D":
      let size = try pair(layer, "pool_size", default: 2)
      let strides = try pair(layer, "strides", default: nil) ?? size
      try add(
        layer,
        Pooling2D(
          layer.className == "MaxPooling2D" ? .max : .average, poolSize: size ?? (2, 2),
          strides: strides, padding: try padding(layer)))
    case "GlobalAveragePooling2D", "GlobalMaxPooling2D":
      try globalPooling(layer)
    case "ZeroPadding2D":
      try zeroPadding(layer)
    case "Flatten":
      try add(layer, Flatten())
    case "Reshape":
      try reshape(layer)
    case "Permute":
      try permute(layer)
    case "Dropout":
      let rate = layer.config["rate"]?.number ?? 0
      guard rate >= 0, rate < 1 else { throw refuse("rate \(rate)") }
      try add(layer, Dropout(rate: Float(rate), generator: SeededGenerator(seed: 0)))
    case "Activation":
      let function = try activation(layer)
      if function?.op is Activation, function?.name == "softmax",
        shapes[layer.inputs[0]]?.rank != 1
      {
        throw refuse("activation softmax on images (use a Softmax layer)")
      }
      try add(layer, [function ?? ("linear", Activation(.linear))])
    case "ReLU", "LeakyReLU":
      try add(layer, try rectifier(layer))
    case "Softmax":
      let rank = shapes[layer.inputs[0]]?.rank ?? 0
      let axis = layer.config["axis"] ?? .number(-1)
      guard axis == .number(-1) || axis == .number(Double(rank)) else {
        throw refuse("axis \(axis)")
      }
      try add(layer, rank == 1 ? Activation(.softmax) : Softmax(axes: 0..<1))
    case "Add":
      guard layer.inputs.count >= 2 else { throw refuse("fewer than two inputs") }
      try add(layer, Add(inputCount: layer.inputs.count))
    case "Multiply":
      try multiply(layer)
    case "Concatenate":
      let rank = shapes[layer.inputs[0]]?.rank ?? 0
      let axis = layer.config["axis"]?.number ?? -1
      guard rank == 3, axis == -1 || axis == 3 else {
        throw refuse("axis \(Int(axis)) of rank-\(rank + 1) tensors (convviz joins image channels)")
      }
      try add(layer, Concatenate())
    default:
      throw .unsupportedLayer(
        layer: layer.name, className: layer.className, supported: KerasModel.supportedLayers)
    }
  }

  /// The `activation` setting as a named engine operation; nil when
  /// there is none or it is linear.
  func activation(
    _ layer: KerasArchitecture.Layer
  ) throws(KerasProblem) -> (name: String, op: any Operation)? {
    guard let value = layer.config["activation"], value != .null else { return nil }
    // Keras 3 may write a built-in activation as {"class_name": "function",
    // "config": "relu"}.
    let name = value.string ?? value["config"]?.string ?? value["class_name"]?.string ?? "?"
    guard let found = KerasModel.activations[name] else {
      throw .unsupportedSetting(
        layer: layer.name, className: layer.className,
        reason: "activation \(name) (convviz runs "
          + KerasModel.activations.keys.sorted().joined(separator: ", ") + ")")
    }
    return found.map { (name, $0) }
  }

  /// The `activation` setting as a model spec's activation (linear, relu,
  /// sigmoid, tanh or softmax).
  func specActivation(_ layer: KerasArchitecture.Layer) throws(KerasProblem) -> Activation.Function
  {
    guard let found = try activation(layer) else { return .linear }
    guard let function = (found.op as? Activation)?.function else {
      throw .unsupportedSetting(
        layer: layer.name, className: layer.className,
        reason: "activation \(found.name) (a model spec has linear, relu, sigmoid, tanh, softmax)")
    }
    return function
  }

  /// `valid` or `same`.
  func padding(_ layer: KerasArchitecture.Layer) throws(KerasProblem) -> Padding {
    switch layer.config["padding"]?.string?.lowercased() ?? "valid" {
    case "valid": return .valid
    case "same": return .same
    case let other:
      throw .unsupportedSetting(
        layer: layer.name, className: layer.className, reason: "padding \(other)")
    }
  }

  /// A (height, width) setting written as one number or two; `fallback`
  /// (a square) when absent or null, nil when that is nil too.
  func pair(
    _ layer: KerasArchitecture.Layer, _ key: String, default fallback: Int?
  ) throws(KerasProblem) -> (Int, Int)? {
    let value = layer.config[key] ?? .null
    var numbers: [Double]
    switch value {
    case .null:
      guard let fallback else { return nil }
      return (fallback, fallback)
    case .number(let n): numbers = [n, n]
    case .array(let items): numbers = items.compactMap(\.number)
    default: numbers = []
    }
    guard numbers.count == 2, numbers.allSatisfy({ $0 >= 1 && $0 <= Double(Self.maximumWindow) })
    else {
      throw .unsupportedSetting(
        layer: layer.name, className: layer.className, reason: "\(key) \(value)")
    }
    return (Int(numbers[0]), Int(numbers[1]))
  }

  /// Adds `op` reading the layer's inputs and writing the tensor named
  /// after the layer, with its activation (if any) as a node of its own.
  mutating func add(
    _ layer: KerasArchitecture.Layer, _ op: any Operation,
    activation: (name: String, op: any Operation)? = nil
  ) throws(KerasProblem) {
    try add(layer, [("linear", op)] + (activation.map { [$0] } ?? []))
  }

  /// Adds one node per step, each reading the one before (the first the
  /// layer's inputs): the first node is named after the layer, the others
  /// `layer/step`; the last writes the tensor named after the layer, each
  /// other `layer/step` (so `conv2d` writes `conv2d/linear` and
  /// `conv2d/relu` writes `conv2d`).
  mutating func add(
    _ layer: KerasArchitecture.Layer, _ steps: [(name: String, op: any Operation)]
  ) throws(KerasProblem) {
    var inputs = layer.inputs
    for (k, step) in steps.enumerated() {
      let name = k == 0 ? layer.name : layer.name + "/" + step.name
      let output = k == steps.count - 1 ? layer.name : layer.name + "/" + step.name
      let shape: Shape
      do {
        shape = try step.op.outputShape(for: inputs.map { shapes[$0] ?? Shape([]) })
      } catch {
        throw .unsupportedSetting(
          layer: layer.name, className: layer.className, reason: "\(error)")
      }
      guard let count = checkedProduct(shape.dims), count <= ModelSpec.maximumFeatureCount else {
        throw .unsupportedSetting(
          layer: layer.name, className: layer.className,
          reason: "output \(shape) has more than \(ModelSpec.maximumFeatureCount) values per sample"
        )
      }
      nodes.append(Graph.Node(name, step.op, inputs: inputs, output: output))
      shapes[output] = shape
      inputs = [output]
    }
  }
}
