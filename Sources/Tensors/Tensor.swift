/// A dense Float32 tensor stored row-major; images are NCHW.
///
/// Tensors passed between layers carry the batch as their first axis:
/// (N, C, H, W) for images and (N, F) for flat features.
public struct Tensor: Sendable, Equatable {
  public var shape: Shape
  public var storage: [Float]

  public init(shape: Shape, storage: [Float]) {
    precondition(
      shape.count == storage.count, "storage count \(storage.count) does not match shape \(shape)")
    self.shape = shape
    self.storage = storage
  }

  public init(zeros shape: Shape) {
    self.init(shape: shape, storage: [Float](repeating: 0, count: shape.count))
  }

  public init(shape: Shape, repeating value: Float) {
    self.init(shape: shape, storage: [Float](repeating: value, count: shape.count))
  }

  public var count: Int { storage.count }

  /// The size of the first (batch) axis.
  public var batchCount: Int { shape.dims[0] }

  /// The shape of one sample: every axis but the first.
  public var sampleShape: Shape { Shape(Array(shape.dims.dropFirst())) }

  /// The flat index of element (n, c, y, x) of a rank-4 NCHW tensor.
  @inline(__always)
  public func offset(n: Int, c: Int, y: Int, x: Int) -> Int {
    ((n * shape.dims[1] + c) * shape.dims[2] + y) * shape.dims[3] + x
  }

  /// The same elements under another shape with the same element count.
  public func reshaped(_ newShape: Shape) -> Tensor {
    Tensor(shape: newShape, storage: storage)
  }

  /// Samples `range` of the batch axis, as a tensor with `range.count` samples.
  public func samples(_ range: Range<Int>) -> Tensor {
    precondition(
      range.lowerBound >= 0 && range.upperBound <= batchCount, "sample range out of bounds")
    let stride = count / max(batchCount, 1)
    var dims = shape.dims
    dims[0] = range.count
    return Tensor(
      shape: Shape(dims),
      storage: Array(storage[(range.lowerBound * stride)..<(range.upperBound * stride)]))
  }

  /// Concatenates tensors along the batch axis; all must share a sample shape.
  public static func concatenatingSamples(_ parts: [Tensor]) -> Tensor {
    precondition(!parts.isEmpty, "nothing to concatenate")
    let sample = parts[0].sampleShape
    var storage: [Float] = []
    storage.reserveCapacity(parts.reduce(0) { $0 + $1.count })
    for part in parts {
      precondition(
        part.sampleShape == sample, "sample shapes differ: \(part.sampleShape) vs \(sample)")
      storage.append(contentsOf: part.storage)
    }
    return Tensor(
      shape: Shape([parts.reduce(0) { $0 + $1.batchCount }] + sample.dims), storage: storage)
  }
}

extension Tensor {
  /// A tensor whose every element `initializer` must write; skips zero-filling
  /// large buffers that a kernel overwrites anyway.
  public init(
    uninitialized shape: Shape, initializer: (UnsafeMutableBufferPointer<Float>) -> Void
  ) {
    let storage = [Float](unsafeUninitializedCapacity: shape.count) { buffer, count in
      initializer(buffer)
      count = shape.count
    }
    self.init(shape: shape, storage: storage)
  }
}
