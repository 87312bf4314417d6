import Tensors

/// Inverted dropout (Keras `Dropout`): in training, zeroes each element with
/// probability `rate` and scales the survivors by 1 / (1 − rate), so
/// inference is the identity.
///
/// Any shape → the same shape. The mask comes from the layer's own
/// `SeededGenerator`, one uniform draw per element in storage order, so a
/// seed fixes every mask; `generatorState` exposes it for checkpoints.
public struct Dropout: Layer {
  struct Cache {
    var mask: [Float]
  }

  public let rate: Float
  public var generator: SeededGenerator
  private var cache: Cache?

  public init(rate: Float, generator: SeededGenerator) {
    precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1), got \(rate)")
    self.rate = rate
    self.generator = generator
  }

  public var kind: String { "Dropout" }

  public var generatorState: [UInt64]? {
    get { generator.state }
    set {
      if let newValue, let restored = SeededGenerator(state: newValue) { generator = restored }
    }
  }

  public func outputShape(for inputShape: Shape) -> Shape { inputShape }

  public mutating func forward(_ input: Tensor, mode: Mode) -> Tensor {
    guard mode == .training, rate > 0 else {
      cache = mode == .training ? Cache(mask: []) : nil
      return input
    }
    let keep = 1 - rate
    let scale = 1 / keep
    var random = generator
    let mask = [Float](unsafeUninitializedCapacity: input.count) { m, count in
      Dropout.fillMask(m, keep: keep, scale: scale, generator: &random)
      count = m.count
    }
    generator = random
    let output = Tensor(uninitialized: input.shape) { y in
      input.storage.withUnsafeBufferPointer { x in
        mask.withUnsafeBufferPointer { m in
          for i in 0..<y.count { y[i] = x[i] * m[i] }
        }
      }
    }
    cache = Cache(mask: mask)
    return output
  }

  /// One uniform draw per element: `scale` where it is below `keep`, else 0.
  /// The generator is an inout parameter rather than a closure capture, so the
  /// loop works on it directly instead of through a heap box.
  private static func fillMask(
    _ mask: UnsafeMutableBufferPointer<Float>, keep: Float, scale: Float,
    generator: inout SeededGenerator
  ) {
    for i in 0..<mask.count { mask[i] = generator.nextUnitFloat() < keep ? scale : 0 }
  }

  public mutating func backward(_ dOutput: Tensor) -> Tensor {
    guard let cache else { preconditionFailure("Dropout.backward without a training forward") }
    self.cache = nil
    guard !cache.mask.isEmpty else { return dOutput }
    precondition(cache.mask.count == dOutput.count, "Dropout dOutput shape mismatch")
    var dInput = dOutput
    dInput.storage.withUnsafeMutableBufferPointer { d in
      cache.mask.withUnsafeBufferPointer { m in
        for i in 0..<d.count { d[i] *= m[i] }
      }
    }
    return dInput
  }
}
