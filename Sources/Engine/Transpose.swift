import Tensors

/// Permutes the axes of each sample (ONNX `Transpose` with the batch axis
/// kept first), as ShuffleNet's channel shuffle does between two reshapes:
/// (g, C/g, H, W) → (C/g, g, H, W) with `permutation` [1, 0, 2, 3].
///
/// Input (N, d_0, …, d_k) → output (N, d_p(0), …, d_p(k)) for p =
/// `permutation`; the gradient is dOutput permuted back. Rows are copied
/// as long as the layouts allow (`StridedWalk`); `StridedReference`
/// transposes element by element.
public struct Transpose: Layer {
  struct Cache {
    var inputShape: Shape
  }

  /// Output axis i is input axis `permutation[i]` (per-sample axes).
  public let permutation: [Int]
  private var cache: Cache?

  public init(permutation: [Int]) {
    precondition(
      permutation.sorted() == Array(permutation.indices), "\(permutation) is not a permutation")
    self.permutation = permutation
  }

  public var kind: String { "Transpose" }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape {
    guard inputShape.rank == permutation.count else {
      throw .incompatibleShape(
        operation: kind, expected: "samples of \(permutation.count) axes", found: [inputShape])
    }
    return Shape(permutation.map { inputShape[$0] })
  }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    cache = mode.keepsCaches ? Cache(inputShape: input.shape) : nil
    return Self.permuted(input, by: [0] + permutation.map { $0 + 1 })
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    guard let cache else { preconditionFailure("Transpose.backward without a training forward") }
    self.cache = nil
    var inverse = [Int](repeating: 0, count: permutation.count + 1)
    for (i, axis) in ([0] + permutation.map { $0 + 1 }).enumerated() { inverse[axis] = i }
    let dInput = Self.permuted(dOutput, by: inverse)
    precondition(dInput.shape == cache.inputShape, "Transpose dOutput shape mismatch")
    return dInput
  }

  /// `x` with output axis i taken from axis `axes[i]` (all axes).
  static func permuted(_ x: Tensor, by axes: [Int]) -> Tensor {
    let dims = axes.map { x.shape[$0] }
    let inputStrides = StridedWalk.broadcastStrides(of: x.shape.dims, onto: x.shape.dims)
    let walk = StridedWalk(dims: dims, strides: [axes.map { inputStrides[$0] }])
    let length = walk.rowLength
    let step = walk.rowStrides[0]
    return Tensor(uninitialized: Shape(dims)) { y in
      guard !y.isEmpty else { return }
      x.storage.withUnsafeBufferPointer { x in
        walk.forEachRow { row, offsets in
          let (o, p) = (row * length, offsets[0])
          if step == 1 {
            for j in 0..<length { y[o + j] = x[p + j] }
          } else {
            for j in 0..<length { y[o + j] = x[p + j * step] }
          }
        }
      }
    }
  }
}
