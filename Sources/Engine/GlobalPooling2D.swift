import Tensors

/// Global pooling (ONNX `GlobalAveragePool`, `GlobalMaxPool`): each
/// channel's whole plane reduced to one value.
///
/// Input (N, C, H, W) → output (N, C, 1, 1), as ONNX keeps the plane axes
/// (a Flatten after it gives (N, C)). Equal to `Pooling2D` with an H × W
/// window, which is the reference the plane loops here are tested against;
/// max sends the gradient to the first maximum of the plane, average
/// spreads it evenly.
public struct GlobalPooling2D: Layer {
  struct Cache {
    var inputShape: Shape
    /// Max: the index within its plane of each plane's first maximum.
    var winners: [Int]
  }

  public let reduction: Pooling2D.Reduction
  private var cache: Cache?

  /// Max or average (L2 is not an ONNX global pool).
  public init(_ reduction: Pooling2D.Reduction) {
    precondition(reduction != .l2, "global pooling is max or average")
    self.reduction = reduction
  }

  public var kind: String {
    reduction == .max ? "GlobalMaxPooling2D" : "GlobalAveragePooling2D"
  }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape {
    guard inputShape.rank == 3, inputShape[1] >= 1, inputShape[2] >= 1 else {
      throw .incompatibleShape(operation: kind, expected: "(C, H, W)", found: [inputShape])
    }
    return Shape(inputShape[0], 1, 1)
  }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    precondition(input.shape.rank == 4, "\(kind) expects (N, C, H, W), got \(input.shape)")
    let planes = input.shape[0] * input.shape[1]
    let plane = input.shape[2] * input.shape[3]
    var winners = [Int](repeating: 0, count: reduction == .max ? planes : 0)
    let output = Tensor(uninitialized: Shape(input.shape[0], input.shape[1], 1, 1)) { y in
      input.storage.withUnsafeBufferPointer { x in
        for p in 0..<planes {
          let base = p * plane
          if reduction == .max {
            var best = 0
            for i in 1..<plane where x[base + i] > x[base + best] { best = i }
            winners[p] = best
            y[p] = x[base + best]
          } else {
            var sum: Float = 0
            for i in 0..<plane { sum += x[base + i] }
            y[p] = sum / Float(plane)
          }
        }
      }
    }
    cache = mode.keepsCaches ? Cache(inputShape: input.shape, winners: winners) : nil
    return output
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    guard let cache else { preconditionFailure("\(kind).backward without a training forward") }
    self.cache = nil
    let shape = cache.inputShape
    let planes = shape[0] * shape[1]
    let plane = shape[2] * shape[3]
    precondition(dOutput.count == planes, "\(kind) dOutput must be (N, C, 1, 1)")
    var dInput = Tensor(zeros: shape)
    dInput.storage.withUnsafeMutableBufferPointer { dx in
      for p in 0..<planes {
        let dy = dOutput.storage[p]
        if reduction == .max {
          dx[p * plane + cache.winners[p]] = dy
        } else {
          let share = dy / Float(plane)
          for i in 0..<plane { dx[p * plane + i] = share }
        }
      }
    }
    return dInput
  }
}
