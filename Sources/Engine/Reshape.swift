import Tensors

/// Gives each sample another shape with the same elements in the same
/// order (ONNX `Reshape`, `Squeeze`, `Unsqueeze`, and `Flatten` in ONNX's
/// own (C, H, W) feature order).
///
/// Input (N, ...) → output (N, `shape`...), the element count per sample
/// unchanged; the gradient is dOutput under the input's shape. `kind`
/// names the ONNX op it stands for in summaries.
public struct Reshape: Layer {
  struct Cache {
    var inputShape: Shape
  }

  /// The per-sample output shape.
  public let shape: Shape
  public let kind: String
  private var cache: Cache?

  public init(to shape: Shape, kind: String = "Reshape") {
    self.shape = shape
    self.kind = kind
  }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape {
    guard inputShape.count == shape.count else {
      throw .incompatibleShape(
        operation: kind, expected: "\(shape.count) values per sample, to make \(shape)",
        found: [inputShape])
    }
    return shape
  }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    guard input.sampleShape.count == shape.count else {
      throw .incompatibleShape(
        operation: kind, expected: "\(shape.count) values per sample", found: [input.sampleShape])
    }
    cache = mode.keepsCaches ? Cache(inputShape: input.shape) : nil
    return input.reshaped(Shape([input.batchCount] + shape.dims))
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    guard let cache else { preconditionFailure("\(kind).backward without a training forward") }
    self.cache = nil
    return dOutput.reshaped(cache.inputShape)
  }
}
