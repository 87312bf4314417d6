import Engine
import Tensors

/// The importer's ops with weights or windows: Conv (groups, dilations),
/// BatchNormalization, Gemm, MatMul (+ Add), MaxPool and AveragePool (and
/// L2 pooling), GlobalAveragePool and GlobalMaxPool, and the attributes
/// they share.
extension ONNXImporter {
  /// ONNX `pads` (top, left, bottom, right) or `auto_pad` as a `Padding`.
  func padding(
    _ node: ONNXNode, input: Shape, kernel: (Int, Int), strides: (Int, Int),
    dilations: (Int, Int) = (1, 1)
  ) throws(ONNXProblem) -> Padding {
    let autoPad: String
    if case .string(let value) = node.attribute("auto_pad") {
      autoPad = value
    } else {
      autoPad = "NOTSET"
    }
    switch autoPad {
    case "NOTSET":
      let pads = intsAttribute(node, "pads") ?? [0, 0, 0, 0]
      guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 <= Self.maximumWindow }) else {
        throw .unsupportedNode(node: node.name, op: node.opType, reason: "pads \(pads)")
      }
      if pads == [0, 0, 0, 0] { return .valid }
      return .explicit(top: pads[0], bottom: pads[2], left: pads[1], right: pads[3])
    case "VALID": return .valid
    case "SAME_UPPER": return .same
    case "SAME_LOWER":
      let rows = Padding.same.amounts(
        along: .vertical, input: input[1], window: kernel.0, stride: strides.0,
        dilation: dilations.0)
      let columns = Padding.same.amounts(
        along: .horizontal, input: input[2], window: kernel.1, stride: strides.1,
        dilation: dilations.1)
      return .explicit(
        top: rows.after, bottom: rows.before, left: columns.after, right: columns.before)
    default:
      throw .unsupportedNode(node: node.name, op: node.opType, reason: "auto_pad \(autoPad)")
    }
  }

  /// Window sizes, strides and pads beyond this are refused (a spec's
  /// limit too), so that no shape arithmetic can overflow.
  static let maximumWindow = 4096

  func strides(_ node: ONNXNode) throws(ONNXProblem) -> (Int, Int) {
    let values = intsAttribute(node, "strides") ?? [1, 1]
    guard values.count == 2, values.allSatisfy({ $0 >= 1 && $0 <= Self.maximumWindow }) else {
      throw .unsupportedNode(node: node.name, op: node.opType, reason: "strides \(values)")
    }
    return (values[0], values[1])
  }

  func dilations(_ node: ONNXNode) throws(ONNXProblem) -> (Int, Int) {
    let values = intsAttribute(node, "dilations") ?? [1, 1]
    guard values.count == 2, values.allSatisfy({ $0 >= 1 && $0 <= Self.maximumWindow }) else {
      throw .unsupportedNode(node: node.name, op: node.opType, reason: "dilations \(values)")
    }
    return (values[0], values[1])
  }

  mutating func conv(_ node: ONNXNode) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    let w = try weight(node, 1, rank: 4)
    let (o, i, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    guard o >= 1, i >= 1, kh >= 1, kw >= 1, kh <= Self.maximumWindow, kw <= Self.maximumWindow
    else {
      throw .unsupportedNode(node: node.name, op: node.opType, reason: "kernel shape \(w.shape)")
    }
    let group = intAttribute(node, "group") ?? 1
    guard group >= 1, o % group == 0 else {
      throw .unsupportedNode(
        node: node.name, op: node.opType, reason: "\(o) filters in \(group) groups")
    }
    var bias = Tensor(zeros: Shape(o))
    if node.inputs.count > 2, !node.inputs[2].isEmpty {
      bias = try weight(node, 2, rank: 1)
    }
    guard let shape = shapes[x], shape.rank == 3, shape[0] == i * group, bias.count == o else {
      throw .unsupportedNode(
        node: node.name, op: node.opType, reason: "weights do not fit the input")
    }
    let s = try strides(node)
    let d = try dilations(node)
    let pad = try padding(node, input: shape, kernel: (kh, kw), strides: s, dilations: d)
    var hwio = [Float](repeating: 0, count: w.count)
    for oc in 0..<o {
      for ic in 0..<i {
        for y in 0..<kh {
          for xx in 0..<kw {
            hwio[((y * kw + xx) * i + ic) * o + oc] = w.storage[((oc * i + ic) * kh + y) * kw + xx]
          }
        }
      }
    }
    release(node.inputs[1])
    try add(
      node,
      Conv2D(
        kernel: Tensor(shape: Shape(kh, kw, i, o), storage: hwio),
        bias: Tensor(shape: Shape(o), storage: bias.storage), strides: s, padding: pad,
        groups: group, dilations: d),
      inputs: [x])
  }

  /// Inference BatchNormalization, a node of its own here;
  /// `Graph.foldingBatchNormalizations` folds it into the Conv before it
  /// when it is that Conv's only reader, once the graph is built.
  mutating func batchNormalization(_ node: ONNXNode) throws(ONNXProblem) {
    func refuse(_ reason: String) -> ONNXProblem {
      .unsupportedNode(node: node.name, op: node.opType, reason: reason)
    }
    if let training = intAttribute(node, "training_mode"), training != 0 {
      throw refuse("training_mode \(training)")
    }
    if let spatial = intAttribute(node, "spatial"), spatial != 1 { throw refuse("spatial 0") }
    if node.outputs.dropFirst().contains(where: { !$0.isEmpty && readers[$0] != nil }) {
      throw refuse("its running statistics outputs are used")
    }
    let x = try dataInput(node, 0)
    var parts: [Tensor] = []
    for i in 1...4 { parts.append(try weight(node, i, rank: 1)) }
    guard let c = shapes[x]?.dims.first, parts.allSatisfy({ $0.count == c }) else {
      throw refuse("scale, B, mean and var are not one value per input channel")
    }
    guard parts[3].storage.allSatisfy({ $0 >= 0 }) else { throw refuse("a negative variance") }
    try noReordering(node, [x])
    var epsilon: Float = 1e-5
    if case .float(let value) = node.attribute("epsilon") { epsilon = value }
    guard epsilon >= 0 else { throw refuse("epsilon \(epsilon)") }
    let norm = BatchNormalization(
      gamma: parts[0], beta: parts[1], mean: parts[2], variance: parts[3], epsilon: epsilon)
    try elementwise(node, norm)
  }

  mutating func globalPool(_ node: ONNXNode) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    guard shapes[x]?.rank == 3 else {
      throw .unsupportedNode(node: node.name, op: node.opType, reason: "input is not an image")
    }
    try add(node, GlobalPooling2D(node.opType == "GlobalMaxPool" ? .max : .average), inputs: [x])
  }

  /// A Dense reading `x`, with rows reordered when `x` is a Flatten of an
  /// image in ONNX's order.
  ///
  /// `kernel` is (in, out), or (out, in) when `transposed` (a Gemm's
  /// `transB`): the rows are moved into the engine's (in, out) and
  /// reordered in the kernel's own storage (`rearrange`), which the caller
  /// hands over (`consume`), so that a large weight is not held twice.
  mutating func dense(
    _ node: ONNXNode, x: String, kernel: consuming Tensor, transposed: Bool = false,
    bias: Tensor, output: String
  ) throws(ONNXProblem) {
    let (features, units) =
      transposed ? (kernel.shape[1], kernel.shape[0]) : (kernel.shape[0], kernel.shape[1])
    // Checked before the rows are moved: the reordering reads c·h·w rows.
    guard shapes[x] == Shape(features), bias.count == units else {
      throw .unsupportedNode(
        node: node.name, op: node.opType, reason: "weights do not fit the input")
    }
    let order = reordered[x].flatMap { $0.c > 1 && $0.h * $0.w > 1 ? $0 : nil }
    if order != nil || transposed {
      Self.rearrange(
        &kernel.storage, features: features, units: units, transposed: transposed,
        from: order.map { order in Self.featureSource(order) })
      kernel.shape = Shape(features, units)
    }
    try add(
      node,
      Dense(kernel: kernel, bias: Tensor(shape: Shape(units), storage: bias.storage)),
      inputs: [x], output: output)
  }

  /// The ONNX feature that engine feature `to` takes when a Flatten of a
  /// (c, h, w) image in ONNX's (C, H, W) order meets the engine's (H, W, C).
  static func featureSource(_ order: (c: Int, h: Int, w: Int)) -> (Int) -> Int {
    { to in (to % order.c) * order.h * order.w + to / order.c }
  }

  /// Moves a Dense kernel of `features` inputs and `units` outputs into the
  /// engine's (in, out) layout in `storage` itself: transposed from
  /// (out, in) when `transposed`, then row `to` taking feature `from(to)`.
  static func rearrange(
    _ storage: inout [Float], features: Int, units: Int, transposed: Bool,
    from: ((Int) -> Int)?
  ) {
    if transposed { InPlaceLayout.transpose(&storage, rows: units, columns: features) }
    if let from {
      InPlaceLayout.permuteRows(&storage, rows: features, rowLength: units, source: from)
    }
  }

  /// `rearrange`'s reference: one pass into a new array.
  static func rearrangedReference(
    _ stored: [Float], features: Int, units: Int, transposed: Bool, from: ((Int) -> Int)?
  ) -> [Float] {
    var rows = [Float](repeating: 0, count: features * units)
    for to in 0..<features {
      let f = from?(to) ?? to
      for u in 0..<units {
        rows[to * units + u] = transposed ? stored[u * features + f] : stored[f * units + u]
      }
    }
    return rows
  }

  mutating func gemm(_ node: ONNXNode) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    let b = try weight(node, 1, rank: 2)
    for (name, expected) in [("alpha", Float(1)), ("beta", 1)] {
      if case .float(let value) = node.attribute(name), value != expected {
        throw .unsupportedNode(node: node.name, op: node.opType, reason: "\(name) \(value)")
      }
    }
    if let transA = intAttribute(node, "transA"), transA != 0 {
      throw .unsupportedNode(node: node.name, op: node.opType, reason: "transA 1")
    }
    let transposed = intAttribute(node, "transB") == 1
    let units = transposed ? b.shape[0] : b.shape[1]
    var bias = Tensor(zeros: Shape(units))
    if node.inputs.count > 2, !node.inputs[2].isEmpty {
      guard let c = constants[node.inputs[2]]?.floatTensor, c.count == units || c.count == 1
      else {
        throw .unsupportedNode(
          node: node.name, op: node.opType,
          reason: "C is not a constant of one value, or one per unit")
      }
      // One value is broadcast to every unit.
      bias = c.count == 1 ? Tensor(shape: bias.shape, repeating: c.storage[0]) : c
    }
    // The importer's copy goes (this Gemm is its only reader): `b` is the
    // one left while the engine's is made, and goes when this returns.
    release(node.inputs[1])
    try dense(
      node, x: x, kernel: consume b, transposed: transposed, bias: bias, output: node.outputs[0])
  }

  mutating func matMul(_ node: ONNXNode, _ k: Int) throws(ONNXProblem) {
    let x = try dataInput(node, 0)
    let b = try weight(node, 1, rank: 2)
    release(node.inputs[1])
    var bias = Tensor(zeros: Shape(b.shape[1]))
    var output = node.outputs[0]
    if let next = soleReader(output), graph.nodes[next].opType == "Add" {
      let add = graph.nodes[next]
      let other = add.inputs.first { $0 != output } ?? ""
      if add.inputs.count == 2, let c = constants[other]?.floatTensor, c.count == b.shape[1] {
        bias = c
        output = add.outputs[0]
        skipped.insert(next)
      }
    }
    try dense(node, x: x, kernel: consume b, bias: bias, output: output)
  }

  mutating func pool(_ node: ONNXNode, _ k: Int) throws(ONNXProblem) {
    func refuse(_ reason: String) -> ONNXProblem {
      .unsupportedNode(node: node.name, op: node.opType, reason: reason)
    }
    guard let kernel = intsAttribute(node, "kernel_shape"), kernel.count == 2,
      kernel.allSatisfy({ $0 >= 1 && $0 <= Self.maximumWindow })
    else { throw refuse("kernel_shape is not two sizes up to \(Self.maximumWindow)") }
    if node.outputs.count > 1, !node.outputs[1].isEmpty { throw refuse("indices output") }
    let s = try strides(node)
    let d = try dilations(node)
    let first = node.inputs.first ?? ""
    var x = squares[first] ?? ""
    if x.isEmpty { x = try dataInput(node, 0) }
    var output = node.outputs[0]
    var name = node.name
    var reduction: Pooling2D.Reduction = node.opType == "MaxPool" ? .max : .average
    // L2 pooling as convviz exports it: Mul(x, x) → AveragePool → Sqrt.
    if reduction == .average, let source = squares[first],
      let sqrt = soleReader(output), graph.nodes[sqrt].opType == "Sqrt"
    {
      x = source
      reduction = .l2
      output = graph.nodes[sqrt].outputs[0]
      name = graph.nodes[sqrt].name
      skipped.insert(sqrt)
    }
    guard let shape = shapes[x], shape.rank == 3 else { throw refuse("input is not an image") }
    let pad = try padding(
      node, input: shape, kernel: (kernel[0], kernel[1]), strides: s, dilations: d)
    // Pads at least as wide as the window would give windows with no cell.
    let rows = pad.amounts(
      along: .vertical, input: shape[1], window: kernel[0], stride: s.0, dilation: d.0)
    let columns = pad.amounts(
      along: .horizontal, input: shape[2], window: kernel[1], stride: s.1, dilation: d.1)
    guard max(rows.before, rows.after) < (kernel[0] - 1) * d.0 + 1,
      max(columns.before, columns.after) < (kernel[1] - 1) * d.1 + 1
    else { throw refuse("pads \(pad) not smaller than the window") }
    let ceilMode = (intAttribute(node, "ceil_mode") ?? 0) != 0
    let countIncludePad = reduction != .max && (intAttribute(node, "count_include_pad") ?? 0) != 0
    if reduction == .l2, countIncludePad || ceilMode || d != (1, 1) {
      throw refuse("L2 pooling with ceil_mode, count_include_pad or dilations")
    }
    let window = PoolWindow(
      size: (kernel[0], kernel[1]), strides: s, padding: pad, dilations: d, ceilMode: ceilMode,
      countIncludePad: countIncludePad)
    try add(node, Pooling2D(reduction, window: window), inputs: [x], output: output, named: name)
  }
}
