import Engine
import Tensors

extension KerasModel {
  /// The Keras layer classes `makeGraph` turns into engine operations.
  /// A class outside this list is refused by name when the model is
  /// loaded; to add one (BatchNormalization, DepthwiseConv2D, …) once the
  /// engine has its operation, add a case to `KerasGraphBuilder.translate`
  /// and its name here.
  public static let supportedLayers = [
    "Activation", "Add", "AveragePooling2D", "Concatenate", "Conv2D", "Dense", "Dropout",
    "Flatten", "InputLayer", "MaxPooling2D", "ReLU", "Softmax",
  ]

  /// The activations Conv2D, Dense and Activation may name.
  static let activations: [String: Activation.Function] = [
    "linear": .linear, "relu": .relu, "sigmoid": .sigmoid, "tanh": .tanh, "softmax": .softmax,
  ]

  /// The engine graph computing this model at inference: one node per
  /// Keras layer, named after it, plus one for the activation of a Conv2D
  /// or Dense (`conv2d` writes `conv2d/linear`, `conv2d/relu` writes
  /// `conv2d`, as convviz's own models are built). Keras is channels-last
  /// and the engine computes images as (C, H, W), but its Flatten orders
  /// features (H, W, C) and its kernels are HWIO and (in, out) like
  /// Keras's, so every weight is used as stored.
  public func makeGraph() throws(KerasProblem) -> Graph {
    guard let architecture else { throw .weightsWithoutArchitecture }
    var builder = KerasGraphBuilder(architecture: architecture, weights: weights)
    return try builder.run()
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
    case "MaxPooling2D", "AveragePooling2D":
      let size = try pair(layer, "pool_size", default: 2)
      let strides = try pair(layer, "strides", default: nil) ?? size
      try add(
        layer,
        Pooling2D(
          layer.className == "MaxPooling2D" ? .max : .average, poolSize: size ?? (2, 2),
          strides: strides, padding: try padding(layer)))
    case "Flatten":
      try add(layer, Flatten())
    case "Dropout":
      let rate = layer.config["rate"]?.number ?? 0
      guard rate >= 0, rate < 1 else { throw refuse("rate \(rate)") }
      try add(layer, Dropout(rate: Float(rate), generator: SeededGenerator(seed: 0)))
    case "Activation":
      try add(layer, Activation(try activation(layer) ?? .linear))
    case "ReLU":
      for (setting, plain) in [
        ("max_value", JSONValue.null), ("negative_slope", .number(0)), ("threshold", .number(0)),
      ] {
        if let value = layer.config[setting], value != plain { throw refuse("\(setting) \(value)") }
      }
      try add(layer, Activation(.relu))
    case "Softmax":
      if let axis = layer.config["axis"], axis != .number(-1) { throw refuse("axis \(axis)") }
      try add(layer, Activation(.softmax))
    case "Add":
      guard layer.inputs.count >= 2 else { throw refuse("fewer than two inputs") }
      try add(layer, Add(inputCount: layer.inputs.count))
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

  mutating func conv2D(_ layer: KerasArchitecture.Layer, key: String) throws(KerasProblem) {
    func refuse(_ reason: String) -> KerasProblem {
      .unsupportedSetting(layer: layer.name, className: layer.className, reason: reason)
    }
    guard let filters = layer.config["filters"]?.number, filters >= 1, filters <= Double(1 << 20)
    else {
      throw refuse("filters missing or out of range")
    }
    guard let size = try pair(layer, "kernel_size", default: nil) else {
      throw refuse("no kernel_size")
    }
    let strides = try pair(layer, "strides", default: 1) ?? (1, 1)
    if let dilation = try pair(layer, "dilation_rate", default: 1), dilation != (1, 1) {
      throw refuse("dilation_rate (\(dilation.0), \(dilation.1))")
    }
    if let groups = layer.config["groups"]?.number, groups != 1 {
      throw refuse("groups \(Int(groups))")
    }
    let x = layer.inputs[0]
    guard layer.inputs.count == 1, let shape = shapes[x], shape.rank == 3 else {
      throw refuse("input is not one image (H, W, C)")
    }
    let kernelShape = [size.0, size.1, shape[0], Int(filters)]
    let (kernel, bias) = try kernelAndBias(layer, key: key, kernel: kernelShape)
    let function = try activation(layer) ?? .linear
    if function == .softmax { throw refuse("activation softmax on images") }
    try add(
      layer,
      Conv2D(kernel: kernel, bias: bias, strides: strides, padding: try padding(layer)),
      activation: function)
  }

  mutating func dense(_ layer: KerasArchitecture.Layer, key: String) throws(KerasProblem) {
    func refuse(_ reason: String) -> KerasProblem {
      .unsupportedSetting(layer: layer.name, className: layer.className, reason: reason)
    }
    guard let units = layer.config["units"]?.number, units >= 1, units <= Double(1 << 24) else {
      throw refuse("units missing or out of range")
    }
    guard layer.inputs.count == 1, let shape = shapes[layer.inputs[0]], shape.rank == 1 else {
      throw refuse("input is not flat features (convviz applies Dense after Flatten)")
    }
    let (kernel, bias) = try kernelAndBias(layer, key: key, kernel: [shape[0], Int(units)])
    try add(layer, Dense(kernel: kernel, bias: bias), activation: try activation(layer) ?? .linear)
  }

  /// A layer's stored kernel and bias (zeros with `use_bias: false`),
  /// checked against the shape the layer needs.
  func kernelAndBias(
    _ layer: KerasArchitecture.Layer, key: String, kernel shape: [Int]
  ) throws(KerasProblem) -> (Tensor, Tensor) {
    let useBias = layer.config["use_bias"]?.bool ?? true
    guard let stored = weights.tensors(name: layer.name, key: key), !stored.isEmpty else {
      throw .missingWeight(layer: layer.name, weight: "kernel")
    }
    guard stored[0].shape.dims == shape else {
      throw .weightShape(
        layer: layer.name, weight: "kernel", expected: shape, found: stored[0].shape.dims)
    }
    let units = shape[shape.count - 1]
    guard useBias else {
      guard stored.count == 1 else {
        throw .unsupportedSetting(
          layer: layer.name, className: layer.className,
          reason: "\(stored.count) stored weights, expected the kernel alone")
      }
      return (stored[0], Tensor(zeros: Shape(units)))
    }
    guard stored.count >= 2 else { throw .missingWeight(layer: layer.name, weight: "bias") }
    guard stored.count == 2 else {
      throw .unsupportedSetting(
        layer: layer.name, className: layer.className,
        reason: "\(stored.count) stored weights, expected kernel and bias")
    }
    guard stored[1].shape.dims == [units] else {
      throw .weightShape(
        layer: layer.name, weight: "bias", expected: [units], found: stored[1].shape.dims)
    }
    return (stored[0], stored[1])
  }

  /// The `activation` setting; nil when there is none.
  func activation(_ layer: KerasArchitecture.Layer) throws(KerasProblem) -> Activation.Function? {
    guard let value = layer.config["activation"], value != .null else { return nil }
    // Keras 3 may write a built-in activation as {"class_name": "function",
    // "config": "relu"}.
    let name = value.string ?? value["config"]?.string ?? value["class_name"]?.string ?? "?"
    guard let function = KerasModel.activations[name] else {
      throw .unsupportedSetting(
        layer: layer.name, className: layer.className,
        reason: "activation \(name) (convviz runs "
          + KerasModel.activations.keys.sorted().joined(separator: ", ") + ")")
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
  /// after the layer, with its activation as a node of its own.
  mutating func add(
    _ layer: KerasArchitecture.Layer, _ op: any Operation,
    activation: Activation.Function = .linear
  ) throws(KerasProblem) {
    let inputShapes = layer.inputs.map { shapes[$0] ?? Shape([]) }
    let linear = activation == .linear ? layer.name : layer.name + "/linear"
    var shape: Shape
    do {
      shape = try op.outputShape(for: inputShapes)
      nodes.append(Graph.Node(layer.name, op, inputs: layer.inputs, output: linear))
      if activation != .linear {
        let function = Activation(activation)
        shape = try function.outputShape(for: [shape])
        nodes.append(
          Graph.Node(
            layer.name + "/" + activation.rawValue, function, inputs: [linear],
            output: layer.name))
      }
    } catch {
      throw .unsupportedSetting(
        layer: layer.name, className: layer.className, reason: "\(error)")
    }
    guard let count = checkedProduct(shape.dims), count <= ModelSpec.maximumFeatureCount else {
      throw .unsupportedSetting(
        layer: layer.name, className: layer.className,
        reason: "output \(shape) has more than \(ModelSpec.maximumFeatureCount) values per sample")
    }
    shapes[linear] = shape
    shapes[layer.name] = shape
  }
}
