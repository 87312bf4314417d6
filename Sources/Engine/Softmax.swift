import Foundation
import Tensors

/// Softmax over some axes of each sample (ONNX `Softmax`): over one axis
/// (opset 13 and later), or over every axis from `axes.lowerBound` on
/// (earlier opsets flatten those into one). Flat features use
/// `Activation(.softmax)`, which a loss can take over.
///
/// Any input shape → the same shape. Each group of elements that differ
/// only along `axes` sums to 1; the group maximum is subtracted first, so
/// large inputs do not overflow. Backward: dx = y ⊙ (dy − Σ_group dy ⊙ y).
public struct Softmax: Layer {
  struct Cache {
    var output: Tensor
  }

  /// Contiguous per-sample axes that each softmax runs over.
  public let axes: Range<Int>
  private var cache: Cache?

  public init(axes: Range<Int>) {
    precondition(!axes.isEmpty && axes.lowerBound >= 0, "softmax needs axes")
    self.axes = axes
  }

  public var kind: String { "Softmax" }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape {
    guard axes.upperBound <= inputShape.rank else {
      throw .incompatibleShape(
        operation: kind, expected: "samples of at least \(axes.upperBound) axes",
        found: [inputShape])
    }
    return inputShape
  }

  /// (groups before, elements of a group, stride between them).
  private func layout(_ shape: Shape) -> (outer: Int, size: Int, inner: Int) {
    let dims = shape.dims
    let lower = axes.lowerBound + 1
    let upper = axes.upperBound + 1
    return (
      dims[..<lower].reduce(1, *), dims[lower..<upper].reduce(1, *), dims[upper...].reduce(1, *)
    )
  }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    _ = try outputShape(for: input.sampleShape)
    let (outer, size, inner) = layout(input.shape)
    var output = input
    output.storage.withUnsafeMutableBufferPointer { y in
      for o in 0..<outer {
        for i in 0..<inner {
          let base = o * size * inner + i
          var largest = -Float.infinity
          for j in 0..<size { largest = max(largest, y[base + j * inner]) }
          var sum: Float = 0
          for j in 0..<size {
            let e = Foundation.exp(y[base + j * inner] - largest)
            y[base + j * inner] = e
            sum += e
          }
          for j in 0..<size { y[base + j * inner] /= sum }
        }
      }
    }
    cache = mode.keepsCaches ? Cache(output: output) : nil
    return output
  }

  /// Softmax has no guided backpropagation rule.
  public var hasGuidedRule: Bool { false }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    guard let cache else { preconditionFailure("Softmax.backward without a training forward") }
    self.cache = nil
    precondition(dOutput.shape == cache.output.shape, "Softmax dOutput shape mismatch")
    let (outer, size, inner) = layout(dOutput.shape)
    var dInput = dOutput
    dInput.storage.withUnsafeMutableBufferPointer { d in
      cache.output.storage.withUnsafeBufferPointer { y in
        for o in 0..<outer {
          for i in 0..<inner {
            let base = o * size * inner + i
            var dot: Float = 0
            for j in 0..<size { dot += d[base + j * inner] * y[base + j * inner] }
            for j in 0..<size {
              d[base + j * inner] = y[base + j * inner] * (d[base + j * inner] - dot)
            }
          }
        }
      }
    }
    return dInput
  }
}
