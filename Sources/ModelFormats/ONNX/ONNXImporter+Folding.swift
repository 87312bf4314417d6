import Engine
import Tensors

/// One element of an integer tensor computed while a model loads: a
/// number, or the batch size, which is known only when the model runs.
enum ShapeElement: Equatable, Sendable {
  case value(Int64)
  case batch
}

/// An integer tensor computed while a model loads, such as the
/// `[N, -1]` that PyTorch's `x.view(x.size(0), -1)` feeds to Reshape.
struct ShapeValue: Equatable, Sendable {
  var dims: [Int]
  var elements: [ShapeElement]

  /// The numbers, when no element is the batch size.
  var numbers: [Int64]? {
    var result: [Int64] = []
    for element in elements {
      guard case .value(let v) = element else { return nil }
      result.append(v)
    }
    return result
  }
}

/// Folding at load: the `Shape`, `Gather`, `Unsqueeze`, `Concat`, `Cast`,
/// `Slice` and arithmetic nodes that exporters write around `flatten` and
/// `view` compute constants from the shapes the importer already knows, so
/// they become constants here and the engine sees one Reshape.
extension ONNXImporter {
  /// The ops folded when every input is known at load (`Shape` whenever
  /// its input's shape is).
  static let foldableOperations: Set<String> = [
    "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Identity", "Add", "Sub",
    "Mul", "Div", "Reshape", "Flatten",
  ]

  /// A value known at load: a float constant, or integers.
  enum Known {
    case floats(Tensor)
    case ints(ShapeValue)
  }

  func known(_ name: String) -> Known? {
    if let value = shapeValues[name] { return .ints(value) }
    guard let tensor = constants[name] else { return nil }
    switch tensor.elements {
    case .float(let t): return .floats(t)
    case .int64(let values):
      return .ints(ShapeValue(dims: tensor.dims, elements: values.map { .value($0) }))
    }
  }

  /// Folds node `k` when its value is known at load; returns whether it did.
  mutating func foldIfKnown(_ k: Int) throws(ONNXProblem) -> Bool {
    let node = graph.nodes[k]
    guard node.domain.isEmpty || node.domain == "ai.onnx",
      Self.foldableOperations.contains(node.opType), node.outputs.count == 1
    else { return false }
    func refuse(_ reason: String) -> ONNXProblem {
      .unsupportedNode(node: node.name, op: node.opType, reason: reason)
    }
    if node.opType == "Shape" {
      guard node.inputs.count == 1 else { return false }
      let name = engineName(node.inputs[0])
      var value: [ShapeElement]
      if let shape = shapes[name] {
        value = [.batch] + shape.dims.map { .value(Int64($0)) }
      } else if let tensor = constants[name] {
        value = tensor.dims.map { .value(Int64($0)) }
      } else {
        return false
      }
      // Opset 15's start and end, clamped to the rank.
      let rank = value.count
      func clamp(_ i: Int) -> Int { min(max(i < 0 ? i + rank : i, 0), rank) }
      let start = clamp(intAttribute(node, "start") ?? 0)
      let end = clamp(intAttribute(node, "end") ?? rank)
      value = start < end ? Array(value[start..<end]) : []
      store(.ints(ShapeValue(dims: [value.count], elements: value)), as: node.outputs[0])
      return true
    }
    var inputs: [Known?] = []
    for name in node.inputs {
      if name.isEmpty {
        inputs.append(nil)
        continue
      }
      guard let value = known(name) else { return false }
      inputs.append(value)
    }
    guard let first = inputs.first ?? nil else { return false }
    guard let result = try folded(node, first: first, inputs: inputs) else {
      throw refuse("its inputs are known when the model loads, but convviz cannot fold them")
    }
    store(result, as: node.outputs[0])
    return true
  }

  private mutating func store(_ value: Known, as name: String) {
    switch value {
    case .floats(let tensor):
      constants[name] = ONNXTensor(name: name, tensor)
    case .ints(let value):
      if let numbers = value.numbers {
        constants[name] = ONNXTensor(name: name, dims: value.dims, int64: numbers)
      } else {
        shapeValues[name] = value
      }
    }
  }

  /// The value of `node` for known `inputs`; nil when it cannot be folded.
  private func folded(
    _ node: ONNXNode, first: Known, inputs: [Known?]
  ) throws(ONNXProblem)
    -> Known?
  {
    let second: Known? = inputs.count > 1 ? inputs[1] : nil
    switch (node.opType, first) {
    case ("Identity", _):
      return first
    case ("Cast", .ints(let value)):
      guard case .int(let to) = node.attribute("to") else { return nil }
      if to == Int(ONNXDataType.float.rawValue) || to == Int(ONNXDataType.double.rawValue) {
        guard let numbers = value.numbers else { return nil }
        return .floats(Tensor(shape: Shape(value.dims), storage: numbers.map { Float($0) }))
      }
      return first
    case ("Cast", .floats(let tensor)):
      guard case .int(let to) = node.attribute("to") else { return nil }
      if to == Int(ONNXDataType.float.rawValue) || to == Int(ONNXDataType.double.rawValue) {
        return first
      }
      guard tensor.storage.allSatisfy({ $0.isFinite && abs($0) < 9e18 }) else { return nil }
      return .ints(
        ShapeValue(
          dims: tensor.shape.dims,
          elements: tensor.storage.map { .value(Int64($0.rounded(.towardZero))) }))
    case ("Unsqueeze", _), ("Squeeze", _), ("Reshape", _), ("Flatten", _):
      let dims = self.dims(of: first)
      guard let newDims = try foldedShape(node, dims: dims, second: second) else { return nil }
      switch first {
      case .floats(let tensor): return .floats(tensor.reshaped(Shape(newDims)))
      case .ints(let value): return .ints(ShapeValue(dims: newDims, elements: value.elements))
      }
    case ("Gather", .ints(let data)):
      guard case .ints(let indexValue) = second, let indices = indexValue.numbers,
        (intAttribute(node, "axis") ?? 0) == 0, let count = data.dims.first
      else { return nil }
      let inner = data.dims.dropFirst().reduce(1, *)
      var elements: [ShapeElement] = []
      for index in indices {
        let i = index < 0 ? Int(index) + count : Int(index)
        guard i >= 0, i < count else { return nil }
        elements += data.elements[(i * inner)..<((i + 1) * inner)]
      }
      return .ints(ShapeValue(dims: indexValue.dims + data.dims.dropFirst(), elements: elements))
    case ("Concat", .ints):
      var elements: [ShapeElement] = []
      for input in inputs {
        guard case .ints(let value) = input, value.dims.count == 1 else { return nil }
        elements += value.elements
      }
      return .ints(ShapeValue(dims: [elements.count], elements: elements))
    case ("Slice", .ints(let data)):
      return slice(node, data, inputs)
    case ("Add", .ints(let a)), ("Sub", .ints(let a)), ("Mul", .ints(let a)), ("Div", .ints(let a)):
      guard case .ints(let b) = second else { return nil }
      return integerArithmetic(node.opType, a, b)
    case ("Add", .floats(let a)), ("Sub", .floats(let a)), ("Mul", .floats(let a)),
      ("Div", .floats(let a)):
      guard case .floats(let b) = second,
        Arithmetic.broadcastShape(a.shape, b.shape) != nil,
        let operation = Arithmetic.Operator(rawValue: node.opType)
      else { return nil }
      return .floats(StridedReference.arithmetic(operation, a, b))
    default:
      return nil
    }
  }

  private func dims(of value: Known) -> [Int] {
    switch value {
    case .floats(let tensor): return tensor.shape.dims
    case .ints(let value): return value.dims
    }
  }

  /// The dimensions after Unsqueeze, Squeeze, Reshape or Flatten of a
  /// known value of `dims` (no batch axis: every axis is the value's own).
  private func foldedShape(
    _ node: ONNXNode, dims: [Int], second: Known?
  ) throws(ONNXProblem) -> [Int]? {
    var axes = intsAttribute(node, "axes")
    if case .ints(let value) = second, let numbers = value.numbers, node.opType != "Reshape" {
      axes = numbers.map { Int($0) }
    }
    switch node.opType {
    case "Unsqueeze":
      guard let axes else { return nil }
      let rank = dims.count + axes.count
      let normalized = Set(axes.map { $0 < 0 ? $0 + rank : $0 })
      guard normalized.count == axes.count, normalized.allSatisfy({ $0 >= 0 && $0 < rank }) else {
        return nil
      }
      var result: [Int] = []
      var rest = dims[...]
      for axis in 0..<rank {
        if normalized.contains(axis) {
          result.append(1)
        } else if let next = rest.popFirst() {
          result.append(next)
        }
      }
      return result
    case "Squeeze":
      let normalized = Set(
        (axes ?? dims.indices.filter { dims[$0] == 1 }).map {
          $0 < 0 ? $0 + dims.count : $0
        })
      guard normalized.allSatisfy({ $0 >= 0 && $0 < dims.count && dims[$0] == 1 }) else {
        return nil
      }
      return dims.indices.filter { !normalized.contains($0) }.map { dims[$0] }
    case "Flatten":
      var axis = intAttribute(node, "axis") ?? 1
      if axis < 0 { axis += dims.count }
      guard axis >= 0, axis <= dims.count else { return nil }
      return [dims[..<axis].reduce(1, *), dims[axis...].reduce(1, *)]
    default:  // Reshape
      guard case .ints(let target) = second, let numbers = target.numbers else { return nil }
      var result = numbers.map { Int($0) }
      for i in result.indices where result[i] == 0 && intAttribute(node, "allowzero") != 1 {
        guard i < dims.count else { return nil }
        result[i] = dims[i]
      }
      let known = result.filter { $0 != -1 }.reduce(1, *)
      if let free = result.firstIndex(of: -1) {
        guard known > 0, dims.reduce(1, *) % known == 0 else { return nil }
        result[free] = dims.reduce(1, *) / known
      }
      guard result.allSatisfy({ $0 >= 0 }), result.reduce(1, *) == dims.reduce(1, *) else {
        return nil
      }
      return result
    }
  }

  /// Slice of a one-axis integer value, with starts, ends and steps from
  /// attributes (before opset 10) or inputs.
  private func slice(_ node: ONNXNode, _ data: ShapeValue, _ inputs: [Known?]) -> Known? {
    guard data.dims.count == 1 else { return nil }
    func list(_ i: Int, _ attribute: String) -> [Int]? {
      if opset < 10 { return intsAttribute(node, attribute) }
      guard i < inputs.count, case .ints(let value) = inputs[i], let numbers = value.numbers else {
        return nil
      }
      return numbers.map { Int(clamping: $0) }
    }
    guard let starts = list(1, "starts"), let ends = list(2, "ends"), starts.count == 1,
      ends.count == 1
    else { return nil }
    if let axes = list(3, "axes"), axes != [0], axes != [-1] { return nil }
    let step = list(4, "steps")?.first ?? 1
    let n = data.dims[0]
    guard step != 0 else { return nil }
    func clampIndex(_ i: Int, low: Int, high: Int) -> Int {
      min(max(i < 0 ? i + n : i, low), high)
    }
    var elements: [ShapeElement] = []
    if step > 0 {
      var i = clampIndex(starts[0], low: 0, high: n)
      let end = clampIndex(ends[0], low: 0, high: n)
      while i < end {
        elements.append(data.elements[i])
        i += step
      }
    } else {
      var i = clampIndex(starts[0], low: 0, high: n - 1)
      let end = clampIndex(ends[0], low: -1, high: n - 1)
      while i > end {
        elements.append(data.elements[i])
        i += step
      }
    }
    return .ints(ShapeValue(dims: [elements.count], elements: elements))
  }

  /// Element-wise integer arithmetic of values with one element or equal
  /// counts; the batch size survives only multiplying or dividing by 1.
  private func integerArithmetic(_ op: String, _ a: ShapeValue, _ b: ShapeValue) -> Known? {
    let count = max(a.elements.count, b.elements.count)
    guard a.elements.count == count || a.elements.count == 1,
      b.elements.count == count || b.elements.count == 1
    else { return nil }
    var elements: [ShapeElement] = []
    for i in 0..<count {
      let x = a.elements[a.elements.count == 1 ? 0 : i]
      let y = b.elements[b.elements.count == 1 ? 0 : i]
      switch (x, y) {
      case (.value(let p), .value(let q)):
        switch op {
        case "Add": elements.append(.value(p &+ q))
        case "Sub": elements.append(.value(p &- q))
        case "Mul": elements.append(.value(p &* q))
        default:
          guard q != 0 else { return nil }
          // ONNX's integer Div truncates, as C does.
          elements.append(.value(p / q))
        }
      case (.batch, .value(1)) where op == "Mul" || op == "Div",
        (.value(1), .batch) where op == "Mul":
        elements.append(.batch)
      default:
        return nil
      }
    }
    let dims = a.elements.count >= b.elements.count ? a.dims : b.dims
    return .ints(ShapeValue(dims: dims, elements: elements))
  }
}
