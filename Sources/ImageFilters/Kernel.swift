/// A 2-D weight matrix applied by cross-correlation (as Keras and OpenCV's
/// filter2D do: the kernel is not flipped).
///
/// Any size is allowed, including even and non-square ones. The anchor, the
/// tap that sits on the output pixel for `same` padding at stride 1, is row
/// `(rows - 1) / 2`, column `(cols - 1) / 2` (rounded down).
public struct Kernel: Sendable, Equatable, CustomStringConvertible {
  public let rows: Int
  public let cols: Int
  /// Row-major weights, `rows * cols` of them.
  public let weights: [Float]
  /// Rank-1 factors when the kernel is separable: `weights[r * cols + c] ≈
  /// column[r] * row[c]` within a relative tolerance of 1e-5; otherwise nil.
  public let separableFactors: (column: [Float], row: [Float])?

  /// Relative tolerance of the rank-1 test, against the largest |weight|.
  public static let separabilityTolerance: Double = 1e-5

  /// A kernel from row-major weights. Precondition: `rows, cols ≥ 1`,
  /// `weights.count == rows * cols`, every weight finite.
  public init(rows: Int, cols: Int, weights: [Float]) {
    precondition(rows >= 1 && cols >= 1, "kernel must have at least one row and column")
    precondition(weights.count == rows * cols, "kernel weight count does not match size")
    precondition(weights.allSatisfy { $0.isFinite }, "kernel weights must be finite")
    self.rows = rows
    self.cols = cols
    self.weights = weights
    self.separableFactors = Kernel.rankOneFactors(rows: rows, cols: cols, weights: weights)
  }

  /// A kernel from a rectangular matrix given row by row.
  public init(_ matrix: [[Float]]) {
    precondition(
      !matrix.isEmpty && matrix.allSatisfy { $0.count == matrix[0].count },
      "kernel matrix must be rectangular and non-empty")
    self.init(rows: matrix.count, cols: matrix[0].count, weights: matrix.flatMap { $0 })
  }

  public static func == (lhs: Kernel, rhs: Kernel) -> Bool {
    lhs.rows == rhs.rows && lhs.cols == rhs.cols && lhs.weights == rhs.weights
  }

  public subscript(row: Int, col: Int) -> Float { weights[row * cols + col] }

  public var isSeparable: Bool { separableFactors != nil }

  /// The weights as nested rows, for display and tests.
  public var matrix: [[Float]] {
    (0..<rows).map { r in Array(weights[(r * cols)..<((r + 1) * cols)]) }
  }

  /// Rows separated by `;`, values by `,` — the form `Kernel.parse` reads.
  public var description: String {
    matrix.map { $0.map { "\($0)" }.joined(separator: ",") }.joined(separator: ";")
  }

  /// Rank-1 test: divide out the row and column through the largest entry and
  /// compare the outer product with the matrix. An all-zero kernel is separable.
  private static func rankOneFactors(
    rows: Int, cols: Int, weights: [Float]
  ) -> (column: [Float], row: [Float])? {
    var pivot = 0
    for i in weights.indices where abs(weights[i]) > abs(weights[pivot]) { pivot = i }
    let largest = Double(abs(weights[pivot]))
    if largest == 0 {
      return (column: Array(repeating: 1, count: rows), row: Array(repeating: 0, count: cols))
    }
    let pivotRow = pivot / cols
    let pivotCol = pivot % cols
    let pivotValue = Double(weights[pivot])
    let rowFactor = (0..<cols).map { Double(weights[pivotRow * cols + $0]) }
    let columnFactor = (0..<rows).map { Double(weights[$0 * cols + pivotCol]) / pivotValue }
    for r in 0..<rows {
      for c in 0..<cols {
        let error = abs(columnFactor[r] * rowFactor[c] - Double(weights[r * cols + c]))
        if error > separabilityTolerance * largest { return nil }
      }
    }
    return (column: columnFactor.map { Float($0) }, row: rowFactor.map { Float($0) })
  }
}
