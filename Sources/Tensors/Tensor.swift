/// A dense Float32 tensor stored row-major; images are NCHW.
public struct Tensor: Sendable, Equatable {
  public var shape: Shape
  public var storage: [Float]

  public init(shape: Shape, storage: [Float]) {
    precondition(shape.count == storage.count, "storage count \(storage.count) does not match shape \(shape)")
    self.shape = shape
    self.storage = storage
  }

  public init(zeros shape: Shape) {
    self.init(shape: shape, storage: [Float](repeating: 0, count: shape.count))
  }

  public var count: Int { storage.count }

  /// The flat index of element (n, c, y, x) of a rank-4 NCHW tensor.
  @inline(__always)
  public func offset(n: Int, c: Int, y: Int, x: Int) -> Int {
    ((n * shape.dims[1] + c) * shape.dims[2] + y) * shape.dims[3] + x
  }
}
