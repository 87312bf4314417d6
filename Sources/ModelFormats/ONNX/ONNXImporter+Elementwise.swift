import Engine
import Tensors

/// The importer's element-wise ops: the parameterised activations and
/// Add/Sub/Mul/Div with ONNX broadcasting (helpers in
/// `ONNXImporter+Shapes.swift`).
extension ONNXImporter {
  // MARK: Activations

  mutating func parametricActivation(_ node: ONNXNode) throws(ONNXProblem) {
    switch node.opType {
    case "LeakyRelu":
      try elementwise(
        node, ParametricActivation(.leakyRelu(alpha: floatAttribute(node, "alpha") ?? 0.01)))
    case "HardSigmoid":
      try elementwise(
        node,
        ParametricActivation(
          .hardSigmoid(
            alpha: floatAttribute(node, "alpha") ?? 0.2, beta: floatAttribute(node, "beta") ?? 0.5)
        ))
    case "HardSwish":
      try elementwise(node, ParametricActivation(.hardSwish))
    default:  // Clip: bounds from attributes before opset 11, inputs since.
      let low: Float
      let high: Float
      if opset < 11 {
        low = floatAttribute(node, "min") ?? -Float.greatestFiniteMagnitude
        high = floatAttribute(node, "max") ?? Float.greatestFiniteMagnitude
      } else {
        low = try scalarInput(node, 1) ?? -Float.infinity
        high = try scalarInput(node, 2) ?? Float.infinity
      }
      if low == 0, high >= Float.greatestFiniteMagnitude {
        try elementwise(node, Activation(.relu))
      } else {
        try elementwise(node, ParametricActivation(.clip(low: low, high: high)))
      }
    }
  }

  // MARK: Arithmetic

  /// Add, Sub, Mul or Div of two computed tensors, or of one and a constant.
  mutating func arithmetic(_ node: ONNXNode) throws(ONNXProblem) {
    guard node.inputs.count == 2, let operation = Arithmetic.Operator(rawValue: node.opType) else {
      throw refusal(node, "it needs two inputs")
    }
    let names = node.inputs.map(engineName)
    let computed = names.map { shapes[$0] != nil }
    if computed[0], computed[1] {
      try noReordering(node, names)
      if operation == .add, shapes[names[0]] == shapes[names[1]] {
        return try add(node, Add(), inputs: names)
      }
      guard shapes[names[0]]?.rank == shapes[names[1]]?.rank else {
        throw refusal(node, "its inputs have different ranks, so their batch axes do not align")
      }
      return try add(node, Arithmetic(operation), inputs: names)
    }
    let x = computed[0] ? 0 : 1
    guard computed[x], let constant = constants[node.inputs[1 - x]]?.floatTensor else {
      throw refusal(node, "input \(1 - x) is neither computed nor a float constant")
    }
    let data = try dataInput(node, x)
    let rank = (shapes[data]?.rank ?? 0) + 1
    guard constant.shape.rank <= rank else {
      throw refusal(node, "its constant \(constant.shape) has more axes than its input")
    }
    if constant.shape.rank == rank, constant.shape[0] != 1, constant.shape[0] != declaredBatch {
      throw refusal(node, "its constant \(constant.shape) varies along the batch axis")
    }
    // A constant that is the same for every feature commutes with the
    // engine's (H, W, C) flatten order; any other needs ONNX's order.
    if constant.count > 1 { try noReordering(node, [data]) }
    let op = Arithmetic(operation, constant: constant, constantFirst: x == 1)
    if constant.count == 1 {
      try elementwise(node, op)
    } else {
      try add(node, op, inputs: [data])
    }
  }
}
