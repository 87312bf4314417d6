import Tensors

/// Pads (or, with negative amounts, crops) each sample along its axes
/// (ONNX `Pad`, the batch axis never padded).
///
/// Input (N, d_0, …, d_k) → output (N, d_i + before_i + after_i …). The
/// value of a cell outside the input is the `constant` border's value, or, for
/// `reflect`, the input mirrored without repeating the edge (ONNX's and
/// NumPy's `reflect`; amounts below each axis' size), for `edge` the
/// nearest edge value, for `wrap` the input repeated. Backward adds each
/// output cell's gradient into the input cell it was read from.
public struct Pad: Layer {
  public enum Border: Sendable, Equatable {
    case constant(Float)
    case reflect, edge, wrap
  }

  struct Cache {
    var inputShape: Shape
  }

  /// Cells added before and after each per-sample axis (negative: removed).
  public let before: [Int]
  public let after: [Int]
  public let border: Border
  private var cache: Cache?

  public init(before: [Int], after: [Int], border: Border = .constant(0)) {
    precondition(before.count == after.count, "one amount before and after each axis")
    self.before = before
    self.after = after
    self.border = border
  }

  public var kind: String { "Pad" }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape {
    guard inputShape.rank == before.count else {
      throw .incompatibleShape(
        operation: kind, expected: "samples of \(before.count) axes", found: [inputShape])
    }
    let dims = inputShape.dims.indices.map { inputShape[$0] + before[$0] + after[$0] }
    let fits = inputShape.dims.indices.allSatisfy { i in
      switch border {
      case .constant: return true
      case .reflect: return before[i] < inputShape[i] && after[i] < inputShape[i]
      case .edge, .wrap: return inputShape[i] > 0
      }
    }
    guard dims.allSatisfy({ $0 >= 0 }), fits else {
      throw .incompatibleShape(
        operation: kind, expected: "pads \(before), \(after) that fit its \(border) border",
        found: [inputShape])
    }
    return Shape(dims)
  }

  public mutating func forward(
    _ input: Tensor, mode: Mode
  ) throws(EngineError) -> Tensor {
    let shape = try outputShape(for: input.sampleShape)
    cache = mode.keepsCaches ? Cache(inputShape: input.shape) : nil
    let sources = sourceOffsets(input: input.shape, output: Shape([input.batchCount] + shape.dims))
    let fill: Float = if case .constant(let value) = border { value } else { 0 }
    return Tensor(uninitialized: Shape([input.batchCount] + shape.dims)) { y in
      input.storage.withUnsafeBufferPointer { x in
        for i in 0..<y.count { y[i] = sources[i] < 0 ? fill : x[sources[i]] }
      }
    }
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    guard let cache else { preconditionFailure("Pad.backward without a training forward") }
    self.cache = nil
    let sources = sourceOffsets(input: cache.inputShape, output: dOutput.shape)
    var dInput = Tensor(zeros: cache.inputShape)
    dInput.storage.withUnsafeMutableBufferPointer { dx in
      dOutput.storage.withUnsafeBufferPointer { dy in
        for i in 0..<dy.count where sources[i] >= 0 { dx[sources[i]] += dy[i] }
      }
    }
    return dInput
  }

  /// For each output element (whole tensors, batch first), the input
  /// element it reads, or -1 for the constant.
  func sourceOffsets(input: Shape, output: Shape) -> [Int] {
    // Per axis: the input index each output index reads (-1: none).
    let maps = output.dims.indices.map { axis -> [Int] in
      let n = input[axis]
      let shift = axis == 0 ? 0 : before[axis - 1]
      return (0..<output[axis]).map { i in
        let j = i - shift
        if j >= 0 && j < n { return j }
        switch border {
        case .constant: return -1
        case .edge: return min(max(j, 0), n - 1)
        case .wrap: return ((j % n) + n) % n
        case .reflect: return j < 0 ? -j : 2 * (n - 1) - j
        }
      }
    }
    let strides = StridedWalk.broadcastStrides(of: input.dims, onto: input.dims)
    var offsets = [0]
    for axis in output.dims.indices {
      var next: [Int] = []
      next.reserveCapacity(offsets.count * output[axis])
      for base in offsets {
        for j in maps[axis] { next.append(base < 0 || j < 0 ? -1 : base + j * strides[axis]) }
      }
      offsets = next
    }
    return offsets
  }
}
