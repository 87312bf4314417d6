import Engine
import Tensors

extension ONNXModel {
  /// The ops `makeGraph` turns into engine operations. MatMul with a
  /// constant right side, optionally followed by an Add of a constant bias;
  /// Sqrt only after an AveragePool of Mul(x, x), as L2 pooling; Shape and
  /// Gather only where they compute shapes known when the model loads
  /// (folded to constants); Slice of data with step 1, as a crop; no op
  /// that moves values across the batch
  /// axis (see `ONNXImporter+Shapes.swift`).
  public static let importableOperations = Set(
    coreOperations + ONNXImporter.shapeOperations
  ).sorted()
  static let coreOperations = [
    "Add", "AveragePool", "BatchNormalization", "Concat", "Conv", "Constant", "Dropout",
    "Flatten", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Identity", "MatMul", "MaxPool",
    "Relu", "Sigmoid", "Softmax", "Tanh", "Transpose",
  ]

  /// The engine graph computing this model at inference: one node per ONNX
  /// node (or per pattern, see `importableOperations`), named after it,
  /// with weights in the engine's layouts (Conv kernels OIHW → HWIO; a
  /// Gemm behind a Flatten of an image gets its rows reordered from ONNX's
  /// (C, H, W) feature order to the engine's (H, W, C)). An op or an
  /// attribute the engine cannot run is refused here, naming the node.
  public func makeGraph() throws(ONNXProblem) -> Graph {
    var model = self
    return try model.takeGraph()
  }

  /// `makeGraph`, moving the initializers out of the model into the
  /// importer, which lets each go once the engine has its own copy (in its
  /// layout): the weights are not held twice over while a model loads.
  /// The model keeps everything else; initializers that graph inputs
  /// repeat (older IR versions) leave the inputs too.
  mutating func takeGraph() throws(ONNXProblem) -> Graph {
    var importer = try ONNXImporter(taking: &self)
    return try importer.run()
  }

  /// The model as a `Network`; `path` names the file in errors.
  public func makeNetwork(path: String) throws(ModelFileError) -> Network {
    var model = self
    return try model.takeNetwork(path: path)
  }

  /// `makeNetwork`, moving the initializers out of the model (`takeGraph`)
  /// so that the weights are not held twice while it loads; the model
  /// keeps the rest (producer, opset, metadata, nodes).
  public mutating func takeNetwork(path: String) throws(ModelFileError) -> Network {
    do {
      return Network(try takeGraph())
    } catch {
      throw .onnx(path: path, error)
    }
  }
}

/// Translates an ONNX graph node by node, in topological order; the ops
/// with weights and windows are in `ONNXImporter+Layers.swift`.
struct ONNXImporter {
  let graph: ONNXGraph
  let opset: Int
  var constants: [String: ONNXTensor] = [:]
  /// Integer tensors folded at load that hold the batch size.
  var shapeValues: [String: ShapeValue] = [:]
  /// Per-sample shapes of the engine tensors made so far.
  var shapes: [String: Shape] = [:]
  /// Flat tensors whose features are in the engine's (H, W, C) order while
  /// ONNX means (C, H, W): the image shape that was flattened.
  var reordered: [String: (c: Int, h: Int, w: Int)] = [:]
  /// ONNX tensor → engine tensor, where a pattern skipped a node.
  var alias: [String: String] = [:]
  var nodes: [Graph.Node] = []
  let input: String
  let inputShape: Shape
  /// Nodes consumed by a pattern (the Add after a MatMul, the Sqrt of L2
  /// pooling).
  var skipped = Set<Int>()
  var readers: [String: [Int]] = [:]
  var producer: [String: Int] = [:]

  /// An importer of `model`'s graph, leaving `model` as it is.
  init(_ model: ONNXModel) throws(ONNXProblem) {
    var copy = model
    try self.init(taking: &copy)
  }

  /// An importer of `model`'s graph, with the initializers moved out of
  /// `model` into it.
  init(taking model: inout ONNXModel) throws(ONNXProblem) {
    let initializers = model.graph.initializers
    let names = Set(initializers.map(\.name))
    model.graph.inputs.removeAll { names.contains($0.name) }
    model.graph.initializers = []
    graph = model.graph
    opset = model.opset
    for tensor in initializers { constants[tensor.name] = tensor }
    let inputs = graph.dataInputs
    guard inputs.count == 1, let info = inputs.first else {
      throw .unsupportedGraph(reason: "has \(inputs.count) data inputs, not one")
    }
    guard info.elementType == .float, let dims = info.dims, dims.count >= 2 else {
      throw .unsupportedGraph(
        reason: "input '\(info.name)' is not a float tensor with a batch axis, such as "
          + "(N, C, H, W) or (N, F)")
    }
    var sample: [Int] = []
    for dim in dims.dropFirst() {
      guard case .fixed(let value) = dim, value > 0 else {
        throw .unsupportedGraph(reason: "input '\(info.name)' has a size that is not fixed")
      }
      sample.append(value)
    }
    guard graph.outputs.count == 1 else {
      throw .unsupportedGraph(reason: "has \(graph.outputs.count) outputs, not one")
    }
    guard let count = checkedProduct(sample), count <= ModelSpec.maximumFeatureCount else {
      throw .unsupportedGraph(
        reason: "input '\(info.name)' has more than \(ModelSpec.maximumFeatureCount) values "
          + "per sample")
    }
    input = info.name
    inputShape = Shape(sample)
    shapes[input] = inputShape
    for (k, node) in graph.nodes.enumerated() {
      for name in node.inputs where !name.isEmpty { readers[name, default: []].append(k) }
      for name in node.outputs where !name.isEmpty { producer[name] = k }
    }
  }

  mutating func run() throws(ONNXProblem) -> Graph {
    for k in topologicalOrder() where !skipped.contains(k) {
      try translate(k)
    }
    let output = engineName(graph.outputs[0].name)
    if let order = reordered[output], order.h * order.w > 1, order.c > 1 {
      throw .unsupportedGraph(
        reason: "output '\(output)' is a Flatten of an image in ONNX's (C, H, W) order")
    }
    do {
      return try Graph(input: input, shape: inputShape, nodes: nodes, output: output)
        .foldingBatchNormalizations()
    } catch {
      throw .unsupportedGraph(reason: "does not build: \(error)")
    }
  }

  /// Kahn's algorithm over the ONNX nodes (the reader has ruled out cycles).
  func topologicalOrder() -> [Int] {
    var waiting = graph.nodes.map { node in
      node.inputs.filter { producer[$0] != nil }.count
    }
    var ready = graph.nodes.indices.filter { waiting[$0] == 0 }.reversed().map { $0 }
    var order: [Int] = []
    while let k = ready.popLast() {
      order.append(k)
      for output in graph.nodes[k].outputs where !output.isEmpty {
        for reader in readers[output] ?? [] {
          for name in graph.nodes[reader].inputs where name == output { waiting[reader] -= 1 }
          if waiting[reader] == 0 { ready.insert(reader, at: 0) }
        }
      }
    }
    return order
  }

  func engineName(_ name: String) -> String { alias[name] ?? name }

  /// The single node reading `tensor`, if exactly one does (once).
  func soleReader(_ tensor: String) -> Int? {
    guard let list = readers[tensor], list.count == 1,
      graph.nodes[list[0]].inputs.filter({ $0 == tensor }).count == 1,
      !graph.outputs.contains(where: { $0.name == tensor })
    else { return nil }
    return list[0]
  }

  // MARK: Nodes

  mutating func translate(_ k: Int) throws(ONNXProblem) {
    let node = graph.nodes[k]
    guard let first = node.outputs.first, !first.isEmpty else {
      throw .unsupportedNode(node: node.name, op: node.opType, reason: "it has no output")
    }
    if try foldIfKnown(k) { return }
    let op =
      node.domain.isEmpty || node.domain == "ai.onnx"
      ? node.opType : node.domain + "." + node.opType
    func refuse(_ reason: String) -> ONNXProblem {
      .unsupportedNode(node: node.name, op: node.opType, reason: reason)
    }
    switch op {
    case "Constant":
      guard case .tensor(var value) = node.attribute("value") else {
        throw refuse("only a tensor `value` is read")
      }
      value.name = node.outputs[0]
      constants[node.outputs[0]] = value
    case "Relu", "Sigmoid", "Tanh", "Identity":
      let function: Activation.Function =
        switch op {
        case "Relu": .relu
        case "Sigmoid": .sigmoid
        case "Tanh": .tanh
        default: .linear
        }
      try elementwise(node, Activation(function))
    case "Dropout":
      if node.outputs.count > 1, !node.outputs[1].isEmpty, readers[node.outputs[1]] != nil {
        throw refuse("its mask output is used")
      }
      var rate: Float = 0.5
      if node.inputs.count > 1, !node.inputs[1].isEmpty {
        guard let value = constants[node.inputs[1]]?.floatTensor?.storage.first else {
          throw refuse("its ratio is not a constant")
        }
        rate = value
      } else if case .float(let value) = node.attribute("ratio") {
        rate = value
      }
      guard rate >= 0, rate < 1 else { throw refuse("ratio \(rate) is outside [0, 1)") }
      try elementwise(node, Dropout(rate: rate, generator: SeededGenerator(seed: 0)))
    case "Softmax":
      try softmax(node)
    case "Flatten", "Reshape", "Squeeze", "Unsqueeze":
      try reshape(node, k)
    case "Transpose":
      guard case .ints([0, 2, 3, 1]) = node.attribute("perm"),
        let flatten = soleReader(node.outputs[0]), graph.nodes[flatten].opType == "Flatten",
        (intAttribute(graph.nodes[flatten], "axis") ?? 1) == 1
      else { return try transpose(node) }
      alias[node.outputs[0]] = try dataInput(node, 0)
      hwcFlattens.insert(flatten)
    case "Mul"
    where node.inputs.count == 2 && node.inputs[0] == node.inputs[1]
      && soleReader(node.outputs[0]).map({ graph.nodes[$0].opType == "AveragePool" }) == true:
      // The square of L2 pooling; `pool` reads the rest of the pattern.
      squares[node.outputs[0]] = try dataInput(node, 0)
    case "Conv":
      try conv(node)
    case "Gemm":
      try gemm(node)
    case "MatMul":
      try matMul(node, k)
    case "MaxPool", "AveragePool":
      try pool(node, k)
    case "BatchNormalization":
      try batchNormalization(node)
    case "GlobalAveragePool", "GlobalMaxPool":
      try globalPool(node)
    case "Add", "Sub", "Mul", "Div":
      try arithmetic(node)
    case "Concat":
      try concat(node)
    case "LeakyRelu", "Clip", "HardSigmoid", "HardSwish":
      try parametricActivation(node)
    case "Pad":
      try pad(node)
    case "ReduceMean":
      try reduceMean(node)
    case "Cast":
      try cast(node)
    case "Slice":
      try slice(node)
    case "Shape", "Gather":
      throw refuse("only on shapes known when the model loads")
    default:
      throw .unsupportedOperation(
        node: node.name, op: op, supported: ONNXModel.importableOperations)
    }
  }

  /// Flatten nodes behind a (0, 2, 3, 1) Transpose: they flatten in the
  /// engine's own order.
  var hwcFlattens = Set<Int>()
  /// Outputs of Mul(x, x) read by an AveragePool: x, for L2 pooling.
  var squares: [String: String] = [:]

  func intAttribute(_ node: ONNXNode, _ name: String) -> Int? {
    if case .int(let value) = node.attribute(name) { return value }
    return nil
  }

  func intsAttribute(_ node: ONNXNode, _ name: String) -> [Int]? {
    if case .ints(let value) = node.attribute(name) { return value }
    return nil
  }

  /// Input `i` of `node` as an engine tensor (not a constant).
  func dataInput(_ node: ONNXNode, _ i: Int) throws(ONNXProblem) -> String {
    guard i < node.inputs.count, !node.inputs[i].isEmpty else {
      throw .unsupportedNode(node: node.name, op: node.opType, reason: "input \(i) is missing")
    }
    let name = engineName(node.inputs[i])
    guard shapes[name] != nil else {
      throw .unsupportedNode(
        node: node.name, op: node.opType,
        reason: "input '\(name)' is a constant or is not computed by the graph")
    }
    return name
  }

  /// Forgets constant `name` when one node alone reads it (the node now
  /// giving the engine its own copy, in its layout).
  mutating func release(_ name: String) {
    guard let list = readers[name], list.count == 1, constants[name] != nil else { return }
    constants[name] = nil
  }

  /// Input `i` of `node` as a constant float tensor.
  func weight(_ node: ONNXNode, _ i: Int, rank: Int) throws(ONNXProblem) -> Tensor {
    guard i < node.inputs.count, let tensor = constants[node.inputs[i]]?.floatTensor,
      tensor.shape.rank == rank
    else {
      throw .unsupportedNode(
        node: node.name, op: node.opType,
        reason: "input \(i) is not a constant float tensor of rank \(rank)")
    }
    return tensor
  }

  func noReordering(_ node: ONNXNode, _ inputs: [String]) throws(ONNXProblem) {
    for name in inputs {
      if let order = reordered[name], order.c > 1, order.h * order.w > 1 {
        throw .unsupportedNode(
          node: node.name, op: node.opType,
          reason: "input '\(name)' is a Flatten of an image in ONNX's (C, H, W) order")
      }
    }
  }

  mutating func add(
    _ node: ONNXNode, _ op: any Operation, inputs: [String], output: String? = nil,
    named nodeName: String? = nil
  ) throws(ONNXProblem) {
    let name = output ?? node.outputs[0]
    let shape: Shape
    do {
      shape = try op.outputShape(for: inputs.map { shapes[$0] ?? Shape([]) })
    } catch {
      throw .unsupportedNode(node: node.name, op: node.opType, reason: "\(error)")
    }
    guard let count = checkedProduct(shape.dims), count <= ModelSpec.maximumFeatureCount else {
      throw .unsupportedNode(
        node: node.name, op: node.opType,
        reason: "output \(shape) has more than \(ModelSpec.maximumFeatureCount) values per sample")
    }
    shapes[name] = shape
    nodes.append(Graph.Node(nodeName ?? node.name, op, inputs: inputs, output: name))
  }

  /// A one-input op that keeps the feature order.
  mutating func elementwise(_ node: ONNXNode, _ op: any Operation) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    try add(node, op, inputs: [x])
    if let order = reordered[x] { reordered[node.outputs[0]] = order }
  }
}
