extension Tensor {
  /// Adds `other` element-wise; shapes must match.
  public static func += (lhs: inout Tensor, rhs: Tensor) {
    precondition(lhs.shape == rhs.shape, "shape mismatch: \(lhs.shape) vs \(rhs.shape)")
    lhs.storage.withUnsafeMutableBufferPointer { a in
      rhs.storage.withUnsafeBufferPointer { b in
        for i in 0..<a.count { a[i] += b[i] }
      }
    }
  }

  /// Multiplies every element by `scale`.
  public static func *= (lhs: inout Tensor, scale: Float) {
    lhs.storage.withUnsafeMutableBufferPointer { a in
      for i in 0..<a.count { a[i] *= scale }
    }
  }

  /// Sets every element to zero, keeping the shape and the allocation.
  public mutating func zero() {
    storage.withUnsafeMutableBufferPointer { a in
      a.update(repeating: 0)
    }
  }

  /// The largest absolute element-wise difference to `other`; shapes must match.
  public func maxAbsoluteDifference(to other: Tensor) -> Float {
    precondition(shape == other.shape, "shape mismatch: \(shape) vs \(other.shape)")
    var worst: Float = 0
    for i in 0..<count { worst = Swift.max(worst, abs(storage[i] - other.storage[i])) }
    return worst
  }

  /// The index of the largest element in each row of a rank-2 (N, F) tensor.
  public func argmaxPerSample() -> [Int] {
    let n = batchCount
    let f = count / Swift.max(n, 1)
    return (0..<n).map { row in
      var best = 0
      for j in 1..<Swift.max(f, 1) where storage[row * f + j] > storage[row * f + best] { best = j }
      return best
    }
  }
}
