import Tensors

/// A constant as a tensor of the graph (ONNX initializers that an op such
/// as Concat joins with computed tensors): the same value for every
/// sample, or one value per sample when the constant has a batch axis.
///
/// Reads one input only for its batch size: input (N, ...) → output
/// (N, value's per-sample shape). `value` is whole, batch axis first: of
/// size 1 (repeated for every sample) or N (running only on batches of
/// that size). Nothing flows back into the input: its gradient is zero.
public struct ConstantTensor: Layer {
  struct Cache {
    var inputShape: Shape
  }

  public let value: Tensor
  private var cache: Cache?

  public init(_ value: Tensor) {
    precondition(value.shape.rank >= 1, "a constant with a batch axis")
    self.value = value
  }

  public var kind: String { "Constant" }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape {
    value.sampleShape
  }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    let n = input.batchCount
    cache = mode.keepsCaches ? Cache(inputShape: input.shape) : nil
    if value.batchCount == n { return value }
    guard value.batchCount == 1 else {
      throw .incompatibleShape(
        operation: kind, expected: "a batch of \(value.batchCount)", found: [input.shape])
    }
    var storage: [Float] = []
    storage.reserveCapacity(n * value.count)
    for _ in 0..<n { storage += value.storage }
    return Tensor(shape: Shape([n] + value.sampleShape.dims), storage: storage)
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    guard let cache else { preconditionFailure("Constant.backward without a training forward") }
    self.cache = nil
    return Tensor(zeros: cache.inputShape)
  }
}
