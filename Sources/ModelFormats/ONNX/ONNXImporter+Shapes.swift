import Engine
import Tensors

/// The importer's element-wise, broadcasting and shape ops: the
/// parameterised activations, Add/Sub/Mul/Div with broadcasting, Reshape,
/// Squeeze, Unsqueeze, Flatten on any axis, Transpose, Pad, Softmax on any
/// axis, Concat on any axis, and Cast.
///
/// ONNX axes count the batch axis; the engine's count per sample. An op
/// that would move data across the batch axis (squeezing it, a Reshape
/// whose first size is not the batch, a Softmax over it) is refused.
extension ONNXImporter {
  /// The ops this file adds to `ONNXModel.importableOperations`.
  static let shapeOperations = [
    "Cast", "Clip", "Div", "Gather", "HardSigmoid", "HardSwish", "LeakyRelu", "Mul", "Pad",
    "ReduceMean", "Reshape", "Shape", "Slice", "Squeeze", "Sub", "Unsqueeze",
  ]

  func refusal(_ node: ONNXNode, _ reason: String) -> ONNXProblem {
    .unsupportedNode(node: node.name, op: node.opType, reason: reason)
  }

  /// The batch size the graph input declares, when it is a number.
  var declaredBatch: Int? {
    if case .fixed(let n) = graph.dataInputs.first?.dims?.first { return n }
    return nil
  }

  /// A float constant of at most one element given as input `i`, or nil
  /// when the input is absent.
  func scalarInput(_ node: ONNXNode, _ i: Int) throws(ONNXProblem) -> Float? {
    guard i < node.inputs.count, !node.inputs[i].isEmpty else { return nil }
    guard let tensor = constants[node.inputs[i]]?.floatTensor, tensor.count == 1 else {
      throw refusal(node, "input \(i) is not a constant of one value")
    }
    return tensor.storage[0]
  }

  func floatAttribute(_ node: ONNXNode, _ name: String) -> Float? {
    if case .float(let value) = node.attribute(name) { return value }
    return nil
  }

  /// Integers from attribute `name` (older opsets) or constant input `i`.
  func integers(
    _ node: ONNXNode, attribute name: String, input i: Int
  ) throws(ONNXProblem) -> [Int]? {
    if let value = intsAttribute(node, name) { return value }
    guard i < node.inputs.count, !node.inputs[i].isEmpty else { return nil }
    guard let values = constants[node.inputs[i]]?.int64Values else {
      throw refusal(node, "its \(name) are not known when the model loads")
    }
    return values.map { Int(clamping: $0) }
  }

  /// `axis` of a tensor of ONNX rank `rank` (batch included) as a
  /// per-sample axis; refuses the batch axis and axes out of range.
  func sampleAxis(_ node: ONNXNode, _ axis: Int, rank: Int) throws(ONNXProblem) -> Int {
    let normalized = axis < 0 ? axis + rank : axis
    guard normalized >= 0, normalized < rank else {
      throw refusal(node, "axis \(axis) is outside the \(rank) axes")
    }
    guard normalized > 0 else { throw refusal(node, "it works along the batch axis") }
    return normalized - 1
  }

  // MARK: Shapes

  /// Reshape, Squeeze, Unsqueeze, or Flatten of a computed tensor.
  mutating func reshape(_ node: ONNXNode, _ k: Int) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    let sample = shapes[x] ?? Shape([])
    let rank = sample.rank + 1
    let target: [Int]
    switch node.opType {
    case "Flatten":
      let axis = intAttribute(node, "axis") ?? 1
      let normalized = axis < 0 ? axis + rank : axis
      guard normalized >= 1, normalized <= rank,
        sample.dims[..<(normalized - 1)].reduce(1, *) == 1
      else { throw refusal(node, "axis \(axis) flattens across the batch axis") }
      // convviz's own Flatten (features in (H, W, C) order) where only
      // Dense layers read the features, so that their kernels stay as a
      // Keras model holds them; ONNX's order otherwise.
      if normalized == 1, sample.rank == 3,
        hwcFlattens.contains(k) || !needsONNXOrder(node.outputs[0])
      {
        try add(node, Flatten(), inputs: [x])
        if sample[0] > 1, sample[1] * sample[2] > 1, !hwcFlattens.contains(k) {
          reordered[node.outputs[0]] = (sample[0], sample[1], sample[2])
        }
        return
      }
      target = [sample.count]
    case "Squeeze":
      let axes = try integers(node, attribute: "axes", input: 1)
      var removed = Set<Int>()
      for axis in axes ?? [] {
        removed.insert(try sampleAxis(node, axis, rank: rank))
      }
      if axes == nil { removed = Set(sample.dims.indices.filter { sample[$0] == 1 }) }
      guard removed.allSatisfy({ sample[$0] == 1 }) else {
        throw refusal(node, "axes \(axes ?? []) are not all of size 1")
      }
      target = sample.dims.indices.filter { !removed.contains($0) }.map { sample[$0] }
    case "Unsqueeze":
      guard let axes = try integers(node, attribute: "axes", input: 1) else {
        throw refusal(node, "it has no axes")
      }
      let newRank = rank + axes.count
      var inserted = Set<Int>()
      for axis in axes { inserted.insert(try sampleAxis(node, axis, rank: newRank)) }
      guard inserted.count == axes.count else { throw refusal(node, "axes \(axes) repeat") }
      var rest = sample.dims[...]
      target = (0..<(newRank - 1)).map { inserted.contains($0) ? 1 : rest.popFirst() ?? 1 }
    default:
      target = try reshapeTarget(node, sample: sample)
    }
    try noReordering(node, [x])
    try add(node, Reshape(to: Shape(target), kind: node.opType), inputs: [x])
  }

  /// The per-sample shape a Reshape asks for: its first size must be the
  /// batch (0 to copy it, the batch size a Shape node read, the declared
  /// batch, or -1 with the rest fixed).
  private func reshapeTarget(_ node: ONNXNode, sample: Shape) throws(ONNXProblem) -> [Int] {
    guard node.inputs.count > 1 else { throw refusal(node, "it has no shape input") }
    let elements: [ShapeElement]
    if let value = shapeValues[node.inputs[1]] {
      elements = value.elements
    } else if let values = constants[node.inputs[1]]?.int64Values {
      elements = values.map { .value($0) }
    } else {
      throw refusal(node, "its shape is not known when the model loads")
    }
    let allowZero = intAttribute(node, "allowzero") == 1
    guard let first = elements.first else { throw refusal(node, "its shape is empty") }
    var dims: [Int] = []
    var free: Int?
    for (i, element) in elements.enumerated().dropFirst() {
      guard case .value(let v) = element, v >= -1, v <= Int64(ModelSpec.maximumFeatureCount)
      else {
        throw refusal(node, "size \(i) of its shape is not a number convviz can use")
      }
      switch v {
      case -1:
        guard free == nil else { throw refusal(node, "its shape has two -1 sizes") }
        free = dims.count
        dims.append(1)
      case 0 where !allowZero:
        guard i - 1 < sample.rank else { throw refusal(node, "size \(i) copies a missing axis") }
        dims.append(sample[i - 1])
      default:
        dims.append(Int(v))
      }
    }
    let fixed = dims.reduce(1, *)
    if let free {
      guard fixed > 0, sample.count % fixed == 0 else {
        throw refusal(node, "its shape does not divide \(sample.count) values per sample")
      }
      dims[free] = sample.count / fixed
    }
    let batchFirst: Bool
    switch first {
    case .batch: batchFirst = true
    case .value(0): batchFirst = !allowZero
    case .value(-1): batchFirst = free == nil
    case .value(let v): batchFirst = declaredBatch.map { Int64($0) == v } ?? false
    }
    guard batchFirst, dims.reduce(1, *) == sample.count else {
      throw refusal(
        node, "its shape moves values across the batch axis (per sample \(sample) → \(dims))")
    }
    return dims
  }

  /// Whether a tensor's readers need its features in ONNX's order: true
  /// unless every path from it reaches a Gemm or MatMul through element-wise
  /// ops only (which keep any feature order).
  func needsONNXOrder(_ tensor: String) -> Bool {
    var pending = [tensor]
    var seen = Set<String>()
    while let name = pending.popLast() {
      guard seen.insert(name).inserted else { continue }
      if graph.outputs.contains(where: { $0.name == name }) { return true }
      for reader in readers[name] ?? [] {
        let node = graph.nodes[reader]
        switch node.opType {
        case "Gemm", "MatMul":
          if node.inputs.first != name { return true }
        case "Relu", "Sigmoid", "Tanh", "Identity", "Dropout", "LeakyRelu", "HardSigmoid",
          "HardSwish", "Clip":
          if node.inputs.first != name { return true }
          pending.append(node.outputs[0])
        default:
          return true
        }
      }
    }
    return false
  }

  /// A Transpose that keeps the batch axis first.
  mutating func transpose(_ node: ONNXNode) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    let rank = (shapes[x]?.rank ?? 0) + 1
    let permutation = intsAttribute(node, "perm") ?? Array((0..<rank).reversed())
    guard permutation.sorted() == Array(0..<rank) else {
      throw refusal(node, "perm \(permutation) is not a permutation of its \(rank) axes")
    }
    guard permutation[0] == 0 else {
      throw refusal(node, "perm \(permutation) moves the batch axis")
    }
    try noReordering(node, [x])
    try add(node, Transpose(permutation: permutation.dropFirst().map { $0 - 1 }), inputs: [x])
  }

  /// Pad with pads from the attribute (before opset 11) or input 1, the
  /// constant from `value` or input 2, and opset 18's axes from input 3.
  mutating func pad(_ node: ONNXNode) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    let sample = shapes[x] ?? Shape([])
    let rank = sample.rank + 1
    let border: Pad.Border
    let mode: String = if case .string(let m) = node.attribute("mode") { m } else { "constant" }
    switch mode {
    case "constant":
      let value = opset < 11 ? floatAttribute(node, "value") : try scalarInput(node, 2)
      border = .constant(value ?? 0)
    case "reflect": border = .reflect
    case "edge": border = .edge
    case "wrap": border = .wrap
    default: throw refusal(node, "mode \(mode)")
    }
    guard let pads = try integers(node, attribute: "pads", input: 1) else {
      throw refusal(node, "it has no pads")
    }
    let axes =
      try integers(node, attribute: "", input: 3)?.map { $0 < 0 ? $0 + rank : $0 }
      ?? Array(0..<rank)
    guard pads.count == 2 * axes.count, axes.allSatisfy({ $0 >= 0 && $0 < rank }) else {
      throw refusal(node, "pads \(pads) do not fit its \(rank) axes")
    }
    var before = [Int](repeating: 0, count: rank)
    var after = [Int](repeating: 0, count: rank)
    for (i, axis) in axes.enumerated() {
      before[axis] = pads[i]
      after[axis] = pads[axes.count + i]
    }
    guard before[0] == 0, after[0] == 0 else { throw refusal(node, "it pads the batch axis") }
    guard (before + after).allSatisfy({ abs($0) <= Self.maximumWindow }) else {
      throw refusal(node, "pads \(pads)")
    }
    try noReordering(node, [x])
    try add(
      node, Pad(before: Array(before.dropFirst()), after: Array(after.dropFirst()), border: border),
      inputs: [x])
  }

  /// Slice of computed data with step 1 along axes other than the batch
  /// (PyTorch's `chunk` and `narrow`): a crop, which `Pad` does with
  /// negative amounts. Starts, ends and axes come from attributes (before
  /// opset 10) or inputs known when the model loads.
  mutating func slice(_ node: ONNXNode) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    let sample = shapes[x] ?? Shape([])
    let rank = sample.rank + 1
    guard let starts = try integers(node, attribute: "starts", input: 1),
      let ends = try integers(node, attribute: "ends", input: 2), starts.count == ends.count
    else { throw refusal(node, "its starts and ends are not known when the model loads") }
    let axes = try integers(node, attribute: "axes", input: 3) ?? Array(0..<starts.count)
    let steps = try integers(node, attribute: "", input: 4) ?? starts.map { _ in 1 }
    guard axes.count == starts.count, steps.count == starts.count else {
      throw refusal(node, "starts, ends, axes and steps differ in length")
    }
    guard steps.allSatisfy({ $0 == 1 }) else {
      throw refusal(node, "steps \(steps) (only 1 is read)")
    }
    var before = [Int](repeating: 0, count: sample.rank)
    var after = before
    for i in axes.indices {
      let axis = try sampleAxis(node, axes[i], rank: rank)
      let n = sample[axis]
      func clamped(_ index: Int) -> Int { min(max(index < 0 ? index + n : index, 0), n) }
      let start = clamped(starts[i])
      let end = max(clamped(ends[i]), start)
      before[axis] = -start
      after[axis] = end - n
    }
    try noReordering(node, [x])
    try add(node, Pad(before: before, after: after), inputs: [x])
  }

  /// Softmax over one axis (opset 13 on), or over the axes from `axis` on
  /// (before; default axis 1). Over the features of a flat sample it is
  /// `Activation(.softmax)`, which a loss can take over.
  mutating func softmax(_ node: ONNXNode) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    let sample = shapes[x] ?? Shape([])
    let rank = sample.rank + 1
    let axis = try sampleAxis(node, intAttribute(node, "axis") ?? (opset < 13 ? 1 : -1), rank: rank)
    let axes = opset < 13 ? axis..<sample.rank : axis..<(axis + 1)
    try noReordering(node, [x])
    if sample.rank == 1 {
      try add(node, Activation(.softmax), inputs: [x])
    } else {
      try add(node, Softmax(axes: axes), inputs: [x])
    }
  }

  /// Concat along any axis but the batch of computed tensors and
  /// constants (each made per sample by a `ConstantTensor` node).
  mutating func concat(_ node: ONNXNode) throws(ONNXProblem) {
    guard let first = node.inputs.map(engineName).first(where: { shapes[$0] != nil }) else {
      throw refusal(node, "none of its inputs is computed")
    }
    let rank = (shapes[first]?.rank ?? 0) + 1
    var inputs: [String] = []
    for (i, name) in node.inputs.enumerated() {
      if shapes[engineName(name)] != nil {
        inputs.append(engineName(name))
        continue
      }
      guard let constant = constants[name]?.floatTensor, constant.shape.rank == rank,
        constant.shape[0] == 1 || constant.shape[0] == declaredBatch
      else {
        throw refusal(
          node, "input \(i) is neither computed nor a float constant with a batch axis")
      }
      let made = node.outputs[0] + "/input\(i)"
      try add(
        node, ConstantTensor(constant), inputs: [first], output: made, named: made)
      inputs.append(made)
    }
    let axis = try sampleAxis(node, intAttribute(node, "axis") ?? 1, rank: rank)
    try noReordering(node, inputs)
    try add(node, Concatenate(axis: axis), inputs: inputs)
  }

  /// ReduceMean over the height and width of an image, as ShuffleNet's
  /// `x.mean([2, 3])` writes it: an average pooling over the whole plane,
  /// then (without `keepdims`) a Reshape to the channels.
  mutating func reduceMean(_ node: ONNXNode) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    guard let sample = shapes[x], sample.rank == 3 else {
      throw refusal(node, "only the height and width of an image are averaged")
    }
    let axes = try integers(node, attribute: "axes", input: 1) ?? [0, 1, 2, 3]
    guard Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3] else {
      throw refusal(node, "axes \(axes): only the height and width of an image are averaged")
    }
    let keep = (intAttribute(node, "keepdims") ?? 1) != 0
    let pooled = keep ? node.outputs[0] : node.outputs[0] + "/pool"
    try add(
      node, Pooling2D(.average, poolSize: (sample[1], sample[2])), inputs: [x], output: pooled,
      named: keep ? node.name : node.name + "/pool")
    if !keep {
      try add(node, Reshape(to: Shape(sample[0]), kind: "Squeeze"), inputs: [pooled])
    }
  }

  /// Cast of a computed float tensor to float or double is nothing (the
  /// engine computes in float); others, float16's rounding included, are
  /// refused.
  mutating func cast(_ node: ONNXNode) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    guard case .int(let to) = node.attribute("to"),
      to == Int(ONNXDataType.float.rawValue) || to == Int(ONNXDataType.double.rawValue)
    else {
      throw refusal(node, "it casts computed values to a type other than float32 or float64")
    }
    alias[node.outputs[0]] = x
  }
}
