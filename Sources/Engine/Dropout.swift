import Tensors
import _CNNKernels

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

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    guard mode == .training, rate > 0 else {
      cache = mode.keepsCaches ? Cache(mask: []) : nil
      return input
    }
    let keep = 1 - rate
    var words = generator.state
    var mask = [Float](unsafeUninitializedCapacity: input.count) { _, count in
      count = input.count
    }
    let output = Tensor(uninitialized: input.shape) { y in
      input.storage.withUnsafeBufferPointer { x in
        mask.withUnsafeMutableBufferPointer { m in
          words.withUnsafeMutableBufferPointer { state in
            cvz_dropout_forward(
              state.baseAddress, keep, 1 / keep, x.baseAddress, m.baseAddress, y.baseAddress,
              x.count)
          }
        }
      }
    }
    guard let advanced = SeededGenerator(state: words) else {
      preconditionFailure("xoshiro256** never reaches the all-zero state")
    }
    generator = advanced
    cache = Cache(mask: mask)
    return output
  }

  /// The mask `forward` draws, computed the plain way: one
  /// `nextUnitFloat()` per element, `1 / keep` where it is below `keep`,
  /// else 0. The C kernel is tested against this.
  static func referenceMask(count: Int, rate: Float, generator: inout SeededGenerator) -> [Float] {
    let keep = 1 - rate
    return (0..<count).map { _ in generator.nextUnitFloat() < keep ? 1 / keep : 0 }
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
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
