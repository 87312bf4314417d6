import Tensors

/// Joins image inputs along the channel axis (Keras `Concatenate` on
/// channels, ONNX `Concat` with axis 1), as DenseNet and Inception blocks do.
///
/// Inputs (N, C_k, H, W) → output (N, Σ C_k, H, W); the gradient of input k
/// is its channel range of dOutput.
public struct Concatenate: Operation {
  struct Cache {
    var channels: [Int]
  }

  private var cache: Cache?

  public init() {}

  public var kind: String { "Concatenate" }

  public func outputShape(for inputShapes: [Shape]) throws(EngineError) -> Shape {
    guard let first = inputShapes.first, first.rank == 3,
      inputShapes.allSatisfy({ $0.rank == 3 && $0[1] == first[1] && $0[2] == first[2] })
    else {
      throw .incompatibleShape(
        operation: kind, expected: "images (C, H, W) of one height and width", found: inputShapes)
    }
    return Shape(inputShapes.reduce(0) { $0 + $1[0] }, first[1], first[2])
  }

  public mutating func forward(_ inputs: [Tensor], mode: Mode) throws(EngineError) -> Tensor {
    precondition(!inputs.isEmpty && inputs.allSatisfy { $0.shape.rank == 4 })
    let (n, h, w) = (inputs[0].shape[0], inputs[0].shape[2], inputs[0].shape[3])
    let channels = inputs.map { $0.shape[1] }
    let total = channels.reduce(0, +)
    var output = Tensor(zeros: Shape(n, total, h, w))
    for sample in 0..<n {
      var offset = sample * total * h * w
      for input in inputs {
        let block = input.shape[1] * h * w
        output.storage.replaceSubrange(
          offset..<(offset + block), with: input.storage[(sample * block)..<((sample + 1) * block)])
        offset += block
      }
    }
    cache = mode.keepsCaches ? Cache(channels: channels) : nil
    return output
  }

  public mutating func backward(
    _ dOutput: Tensor, needsInputGradients: [Bool]
  ) throws(EngineError) -> [Tensor?] {
    guard let cache else { preconditionFailure("Concatenate.backward without a training forward") }
    self.cache = nil
    let (n, total, h, w) = (dOutput.shape[0], dOutput.shape[1], dOutput.shape[2], dOutput.shape[3])
    var first = 0
    return zip(cache.channels, needsInputGradients).map { channels, needed in
      defer { first += channels }
      guard needed else { return nil }
      var storage: [Float] = []
      storage.reserveCapacity(n * channels * h * w)
      for sample in 0..<n {
        let start = (sample * total + first) * h * w
        storage.append(contentsOf: dOutput.storage[start..<(start + channels * h * w)])
      }
      return Tensor(shape: Shape(n, channels, h, w), storage: storage)
    }
  }
}
