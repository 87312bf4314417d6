import Tensors
import _CNNKernels

/// Flattens each sample to a feature vector (Keras `Flatten`).
///
/// Input (N, C, H, W) → output (N, H·W·C). Our tensors are NCHW, but Keras
/// is channels-last and flattens in (H, W, C) order; emitting features in that
/// same order makes the following Dense kernel identical, row for row, to the
/// Keras model's, so weights can be compared or exchanged. Feature
/// f = (y·W + x)·C + c holds element (c, y, x). Rank-2 input passes through.
public struct Flatten: Layer {
  struct Cache {
    var inputShape: Shape
  }

  private var cache: Cache?

  public init() {}

  public var kind: String { "Flatten" }

  public func outputShape(for inputShape: Shape) -> Shape {
    Shape(inputShape.count)
  }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    cache = mode.keepsCaches ? Cache(inputShape: input.shape) : nil
    guard input.shape.rank == 4 else {
      return input.reshaped(Shape(input.shape[0], input.count / max(input.shape[0], 1)))
    }
    let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    return Tensor(uninitialized: Shape(n, h * w * c)) { y in
      input.storage.withUnsafeBufferPointer { x in
        cvz_transpose_images(x.baseAddress, y.baseAddress, Int32(n), Int32(c), Int32(h * w))
      }
    }
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    guard let cache else { preconditionFailure("Flatten.backward without a training forward") }
    self.cache = nil
    let shape = cache.inputShape
    guard shape.rank == 4 else { return dOutput.reshaped(shape) }
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    precondition(dOutput.count == shape.count, "Flatten dOutput must have \(shape.count) elements")
    return Tensor(uninitialized: shape) { dx in
      dOutput.storage.withUnsafeBufferPointer { dy in
        cvz_transpose_images(dy.baseAddress, dx.baseAddress, Int32(n), Int32(h * w), Int32(c))
      }
    }
  }
}
