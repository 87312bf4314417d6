import Engine
import Tensors

/// The ONNX form (opset 13, `ONNXModel.exportOpset`) of the element-wise,
/// broadcasting and shape operations, for a writer of engine graphs: the
/// nodes and initializers one engine node becomes, named after it and
/// writing its tensor, so that importing them gives the same operation
/// back.
///
/// HardSwish (opset 14) is written as HardSigmoid(1/6, 1/2) and Mul; a
/// Softmax over several axes (older opsets' form) as Reshape, Softmax over
/// the joined axis, Reshape; a Reshape of any ONNX kind as Reshape with 0
/// for the batch. Axes get 1 added for the batch axis.
struct ONNXShapeExport {
  var nodes: [ONNXNode] = []
  var initializers: [ONNXTensor] = []

  /// The form of `op` for node `name` reading `inputs` (per-sample shapes
  /// `inputShapes`) and writing `output`; nil when `op` is not one of
  /// these operations (or a `ConstantTensor`, which has no ONNX form that
  /// follows the batch).
  static func form(
    of op: any Operation, name: String, inputs: [String], inputShapes: [Shape], output: String
  ) -> ONNXShapeExport? {
    var form = ONNXShapeExport()
    guard form.write(op, name: name, inputs: inputs, inputShapes: inputShapes, output: output)
    else { return nil }
    return form
  }

  private mutating func emit(
    _ name: String, _ op: String, _ inputs: [String], _ output: String,
    _ attributes: [ONNXAttribute] = []
  ) {
    nodes.append(
      ONNXNode(name: name, opType: op, inputs: inputs, outputs: [output], attributes: attributes))
  }

  private mutating func constant(_ name: String, _ tensor: Tensor) -> String {
    initializers.append(ONNXTensor(name: name, tensor))
    return name
  }

  private mutating func integers(_ name: String, _ values: [Int]) -> String {
    initializers.append(
      ONNXTensor(name: name, dims: [values.count], int64: values.map { Int64($0) }))
    return name
  }

  private mutating func write(
    _ op: any Operation, name: String, inputs: [String], inputShapes: [Shape], output y: String
  ) -> Bool {
    let x = inputs.first ?? ""
    switch op {
    case let activation as ParametricActivation:
      switch activation.function {
      case .leakyRelu(let alpha):
        emit(name, "LeakyRelu", [x], y, [ONNXAttribute("alpha", .float(alpha))])
      case .clip(let low, let high):
        let bounds = [
          constant(name + "/min", Tensor(shape: Shape([]), storage: [low])),
          constant(name + "/max", Tensor(shape: Shape([]), storage: [high])),
        ]
        emit(name, "Clip", [x] + bounds, y)
      case .hardSigmoid(let alpha, let beta):
        emit(
          name, "HardSigmoid", [x], y,
          [ONNXAttribute("alpha", .float(alpha)), ONNXAttribute("beta", .float(beta))])
      case .hardSwish:
        emit(
          name + "/gate", "HardSigmoid", [x], name + "/gate",
          [ONNXAttribute("alpha", .float(1.0 / 6)), ONNXAttribute("beta", .float(0.5))])
        emit(name, "Mul", [x, name + "/gate"], y)
      }
    case var arithmetic as Arithmetic:
      var operands = inputs
      var held: Tensor?
      arithmetic.forEachParameter { held = $0.value }
      if let held {
        let c = constant(name + "/constant", held)
        operands = arithmetic.constantFirst ? [c, x] : [x, c]
      }
      emit(name, arithmetic.operation.rawValue, operands, y)
    case let reshape as Reshape:
      emit(name, "Reshape", [x, integers(name + "/shape", [0] + reshape.shape.dims)], y)
    case let transpose as Transpose:
      emit(
        name, "Transpose", [x], y,
        [ONNXAttribute("perm", .ints([0] + transpose.permutation.map { $0 + 1 }))])
    case let pad as Pad:
      let pads = integers(name + "/pads", [0] + pad.before + [0] + pad.after)
      switch pad.border {
      case .constant(let value):
        let fill = constant(name + "/value", Tensor(shape: Shape([]), storage: [value]))
        emit(name, "Pad", [x, pads, fill], y, [ONNXAttribute("mode", .string("constant"))])
      case .reflect: emit(name, "Pad", [x, pads], y, [ONNXAttribute("mode", .string("reflect"))])
      case .edge: emit(name, "Pad", [x, pads], y, [ONNXAttribute("mode", .string("edge"))])
      case .wrap: return false  // opset 19
      }
    case let softmax as Softmax:
      let axes = softmax.axes
      guard axes.count > 1 else {
        emit(name, "Softmax", [x], y, [ONNXAttribute("axis", .int(axes.lowerBound + 1))])
        return true
      }
      let sample = inputShapes.first?.dims ?? []
      guard axes.upperBound == sample.count else { return false }
      let joined = integers(name + "/joined", [0] + sample[..<axes.lowerBound] + [-1])
      emit(name + "/join", "Reshape", [x, joined], name + "/join")
      emit(
        name + "/softmax", "Softmax", [name + "/join"], name + "/softmax",
        [ONNXAttribute("axis", .int(axes.lowerBound + 1))])
      emit(name, "Reshape", [name + "/softmax", integers(name + "/shape", [0] + sample)], y)
    case let concatenate as Concatenate:
      emit(name, "Concat", inputs, y, [ONNXAttribute("axis", .int(concatenate.axis + 1))])
    default:
      return false
    }
    return true
  }
}
