/// What a filter computes at each output pixel: one kernel's response, or the
/// gradient magnitude sqrt(gx² + gy²) of two equally sized kernels (`sobel`).
public enum FilterOperation: Sendable, Equatable {
  case kernel(Kernel)
  /// Precondition: both kernels have the same size.
  case gradientMagnitude(x: Kernel, y: Kernel)

  /// The kernels in the order they are evaluated.
  public var kernels: [Kernel] {
    switch self {
    case .kernel(let k): return [k]
    case .gradientMagnitude(let x, let y):
      precondition(x.rows == y.rows && x.cols == y.cols, "gradient kernels differ in size")
      return [x, y]
    }
  }

  public var kernelRows: Int { kernels[0].rows }
  public var kernelCols: Int { kernels[0].cols }
}
