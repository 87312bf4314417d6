import Tensors

/// Element-wise add, subtract, multiply or divide with ONNX's
/// multidirectional broadcasting (`Add`, `Sub`, `Mul`, `Div`): an image
/// times a per-channel (C, 1, 1) gate as in squeeze-and-excitation
/// (x · sigmoid(fc(pool(x)))), an image plus an image, or a tensor and a
/// constant the operation holds (a scale or bias).
///
/// Shapes, per sample: two computed inputs of one rank broadcast axis by
/// axis, (C, H, W) and (C, 1, 1) → (C, H, W). A constant is aligned from
/// the right against the whole tensor, batch axis first, as ONNX aligns
/// it: (C, 1, 1) or (1, C, 1, 1) scales channels; a constant whose batch
/// axis is not 1 runs only on batches of that size. Backward sums each
/// gradient over the axes its operand was broadcast along; the constant is
/// a parameter ("constant") whose gradient is added like a weight's.
/// `ArithmeticReference` computes the same by plain index arithmetic.
public struct Arithmetic: Operation {
  public enum Operator: String, Sendable, CaseIterable {
    case add = "Add", subtract = "Sub", multiply = "Mul", divide = "Div"
  }

  struct Cache {
    var left: Tensor
    var right: Tensor
  }

  public let operation: Operator
  /// The constant operand; nil when both operands are computed.
  public private(set) var constant: Parameter?
  /// Whether the constant is the left operand (c − x, c / x).
  public let constantFirst: Bool
  private var cache: Cache?

  /// Two computed operands, left and right.
  public init(_ operation: Operator) {
    self.operation = operation
    constant = nil
    constantFirst = false
  }

  /// A computed operand and `constant`, on the left when `constantFirst`.
  public init(_ operation: Operator, constant: Tensor, constantFirst: Bool = false) {
    self.operation = operation
    self.constant = Parameter(name: "constant", value: constant)
    self.constantFirst = constantFirst
  }

  public var kind: String { operation.rawValue }

  /// The ONNX broadcast of whole shapes `a` and `b`; nil when they do not
  /// broadcast.
  public static func broadcastShape(_ a: Shape, _ b: Shape) -> Shape? {
    StridedWalk.broadcastDims([a.dims, b.dims]).map(Shape.init)
  }

  public func outputShape(for inputShapes: [Shape]) throws(EngineError) -> Shape {
    let expected = constant == nil ? 2 : 1
    guard inputShapes.count == expected else {
      throw .inputCount(operation: kind, expected: expected, found: inputShapes.count)
    }
    let sample = inputShapes[0].dims
    let other: [Int]
    if let constant {
      let dims = constant.value.shape.dims
      guard dims.count <= sample.count + 1 else {
        throw .incompatibleShape(
          operation: kind, expected: "a constant of at most \(sample.count + 1) axes",
          found: inputShapes + [constant.value.shape])
      }
      other = Array(dims.suffix(sample.count))
    } else {
      guard inputShapes[1].rank == sample.count else {
        throw .incompatibleShape(
          operation: kind, expected: "inputs of one rank", found: inputShapes)
      }
      other = inputShapes[1].dims
    }
    guard let dims = StridedWalk.broadcastDims([sample, other]), dims.count == sample.count else {
      throw .incompatibleShape(
        operation: kind, expected: "shapes that broadcast",
        found: inputShapes + (constant.map { [$0.value.shape] } ?? []))
    }
    return Shape(dims)
  }

  /// The left and right operands, each full shape batch axis first.
  private func operands(_ inputs: [Tensor]) throws(EngineError) -> (Tensor, Tensor) {
    guard let constant else {
      precondition(inputs.count == 2, "\(kind) takes two inputs")
      return (inputs[0], inputs[1])
    }
    precondition(inputs.count == 1, "\(kind) with a constant takes one input")
    let x = inputs[0]
    let dims = constant.value.shape.dims
    if dims.count == x.shape.rank, dims[0] != 1, dims[0] != x.shape[0] {
      throw .incompatibleShape(
        operation: kind, expected: "a batch of \(dims[0]) for its constant",
        found: [x.shape, constant.value.shape])
    }
    return constantFirst ? (constant.value, x) : (x, constant.value)
  }

  public mutating func forward(_ inputs: [Tensor], mode: Mode) throws(EngineError) -> Tensor {
    let (left, right) = try operands(inputs)
    guard let dims = StridedWalk.broadcastDims([left.shape.dims, right.shape.dims]) else {
      throw .incompatibleShape(
        operation: kind, expected: "shapes that broadcast", found: [left.shape, right.shape])
    }
    cache = mode.keepsCaches ? Cache(left: left, right: right) : nil
    let walk = StridedWalk(broadcasting: [left.shape.dims, right.shape.dims], onto: dims)
    let length = walk.rowLength
    let steps = walk.rowStrides
    let (sa, sb) = (steps[0], steps[1])
    let operation = operation
    return Tensor(uninitialized: Shape(dims)) { y in
      guard !y.isEmpty else { return }
      left.storage.withUnsafeBufferPointer { a in
        right.storage.withUnsafeBufferPointer { b in
          walk.forEachRow { row, offsets in
            let (o, pa, pb) = (row * length, offsets[0], offsets[1])
            switch operation {
            case .add: for j in 0..<length { y[o + j] = a[pa + j * sa] + b[pb + j * sb] }
            case .subtract: for j in 0..<length { y[o + j] = a[pa + j * sa] - b[pb + j * sb] }
            case .multiply: for j in 0..<length { y[o + j] = a[pa + j * sa] * b[pb + j * sb] }
            case .divide: for j in 0..<length { y[o + j] = a[pa + j * sa] / b[pb + j * sb] }
            }
          }
        }
      }
    }
  }

  public mutating func backward(
    _ dOutput: Tensor, needsInputGradients: [Bool]
  ) throws(EngineError) -> [Tensor?] {
    try backward(dOutput, needsInputGradients: needsInputGradients, needsParameterGradients: true)
  }

  public mutating func backward(
    _ dOutput: Tensor, needsInputGradients: [Bool], needsParameterGradients: Bool
  ) throws(EngineError) -> [Tensor?] {
    guard let cache else { preconditionFailure("\(kind).backward without a training forward") }
    self.cache = nil
    let (left, right) = (cache.left, cache.right)
    var dLeft = Tensor(zeros: left.shape)
    var dRight = Tensor(zeros: right.shape)
    let walk = StridedWalk(
      broadcasting: [left.shape.dims, right.shape.dims], onto: dOutput.shape.dims)
    let length = walk.rowLength
    let steps = walk.rowStrides
    let (sa, sb) = (steps[0], steps[1])
    let operation = operation
    dOutput.storage.withUnsafeBufferPointer { d in
      guard !d.isEmpty else { return }
      left.storage.withUnsafeBufferPointer { a in
        right.storage.withUnsafeBufferPointer { b in
          dLeft.storage.withUnsafeMutableBufferPointer { da in
            dRight.storage.withUnsafeMutableBufferPointer { db in
              walk.forEachRow { row, offsets in
                let (o, pa, pb) = (row * length, offsets[0], offsets[1])
                for j in 0..<length {
                  let (g, ia, ib) = (d[o + j], pa + j * sa, pb + j * sb)
                  switch operation {
                  case .add:
                    da[ia] += g
                    db[ib] += g
                  case .subtract:
                    da[ia] += g
                    db[ib] -= g
                  case .multiply:
                    da[ia] += g * b[ib]
                    db[ib] += g * a[ia]
                  case .divide:
                    da[ia] += g / b[ib]
                    db[ib] -= g * a[ia] / (b[ib] * b[ib])
                  }
                }
              }
            }
          }
        }
      }
    }
    guard constant != nil else {
      return [needsInputGradients[0] ? dLeft : nil, needsInputGradients[1] ? dRight : nil]
    }
    if needsParameterGradients { constant?.grad += constantFirst ? dLeft : dRight }
    return [needsInputGradients[0] ? (constantFirst ? dRight : dLeft) : nil]
  }

  public mutating func forEachParameter(_ body: (inout Parameter) -> Void) {
    guard var parameter = constant else { return }
    body(&parameter)
    constant = parameter
  }
}

/// The sum of two computed tensors of one shape (a residual connection) in
/// inference on oneDNN's layouts: the convolutions on either side keep
/// theirs, so the block reorders nothing. A following ReLU is folded there
/// (elsewhere it runs on its own).
extension Arithmetic: OneDNNLayoutOperation {
  private var isPlainSum: Bool { operation == .add && constant == nil }

  var sumsTwoInputs: Bool { isPlainSum }

  public func canFold(_ stages: [FusionRole]) -> Bool {
    stages.isEmpty || (isPlainSum && stages == [.relu])
  }

  func runsOnOneDNN(inputShapes: [Shape]) -> Bool {
    isPlainSum && inputShapes.count == 2 && inputShapes[0] == inputShapes[1]
      && inputShapes[0].rank == 3
  }

  mutating func oneDNNForward(
    _ inputs: [StepValue], folding stages: [FusionRole], keepLayout: Bool
  ) throws(EngineError) -> (output: StepValue, folded: Int)? {
    guard isPlainSum, OneDNN.isUsable,
      let sum = try OneDNNTensor.sum(inputs, relu: stages.first == .relu)
    else { return nil }
    cache = nil
    return (keepLayout ? .oneDNN(sum) : .plain(try sum.plain()), stages.isEmpty ? 0 : 1)
  }
}
