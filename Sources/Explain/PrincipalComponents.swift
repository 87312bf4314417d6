import COpenBLAS
import Engine
import Foundation

/// Principal component analysis of the rows of a matrix, through LAPACK's
/// symmetric eigensolver (`ssyevd`, which OpenBLAS ships): the covariance
/// (D × D) when there are more samples than features, else the Gram
/// matrix of the samples (N × N), whose eigenvectors scaled by √λ are the
/// projections themselves. Either way the matrix is the smaller one.
public enum PrincipalComponents {
  /// The projections (N, components) of the rows of `x` (N, D, row-major)
  /// on their `components` leading principal axes, the data centred by
  /// its mean. Each axis's sign is chosen so that its largest projection
  /// (by magnitude) is positive, which makes results repeatable.
  public static func project(
    _ x: [Float], rows n: Int, columns d: Int, components: Int = 2
  ) throws(ExplainError) -> [Float] {
    precondition(x.count == n * d && n >= 1 && d >= 1, "x is not N×D")
    precondition(components >= 1 && components <= min(n, d), "1…min(N, D) components")
    do throws(EngineError) { try EngineError.requireOpenBLAS() } catch { throw .engine(error) }
    let centred = centre(x, rows: n, columns: d)
    var projections = [Float](repeating: 0, count: n * components)
    if d <= n {
      // Covariance up to a factor (which changes no axis): XᵀX, D × D.
      var covariance = [Float](repeating: 0, count: d * d)
      cblas_ssyrk(
        CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(n), 1, centred, Int32(d), 0,
        &covariance, Int32(d))
      let (_, vectors) = try eigen(&covariance, size: d)
      // The eigenvectors are the columns of a column-major matrix, so row
      // j of `vectors` (row-major reading) is eigenvector j, ascending.
      for c in 0..<components {
        let axis = vectors[((d - 1 - c) * d)..<((d - c) * d)]
        for i in 0..<n {
          var sum: Float = 0
          for j in 0..<d { sum += centred[i * d + j] * axis[axis.startIndex + j] }
          projections[i * components + c] = sum
        }
      }
    } else {
      var gram = [Float](repeating: 0, count: n * n)
      cblas_ssyrk(
        CblasRowMajor, CblasUpper, CblasNoTrans, Int32(n), Int32(d), 1, centred, Int32(d), 0,
        &gram, Int32(n))
      let (values, vectors) = try eigen(&gram, size: n)
      for c in 0..<components {
        let root = max(values[n - 1 - c], 0).squareRoot()
        for i in 0..<n { projections[i * components + c] = vectors[(n - 1 - c) * n + i] * root }
      }
    }
    for c in 0..<components {
      let column = (0..<n).map { projections[$0 * components + c] }
      let largest = column.max { abs($0) < abs($1) } ?? 0
      if largest < 0 { for i in 0..<n { projections[i * components + c] = -column[i] } }
    }
    return projections
  }

  /// `x` minus its column means.
  static func centre(_ x: [Float], rows n: Int, columns d: Int) -> [Float] {
    var mean = [Double](repeating: 0, count: d)
    for i in 0..<n { for j in 0..<d { mean[j] += Double(x[i * d + j]) } }
    var out = x
    for i in 0..<n { for j in 0..<d { out[i * d + j] -= Float(mean[j] / Double(n)) } }
    return out
  }

  /// Eigenvalues (ascending) and eigenvectors (one per `size` block, in
  /// the same order) of the symmetric matrix whose upper triangle (in
  /// row-major order) `a` holds; `a` is overwritten.
  static func eigen(_ a: inout [Float], size n: Int) throws(ExplainError) -> ([Float], [Float]) {
    // Row-major upper is column-major lower.
    var (jobz, uplo) = (CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "L")))
    var (order, lda, info) = (blasint(n), blasint(n), blasint(0))
    var values = [Float](repeating: 0, count: n)
    var lwork = blasint(1 + 6 * n + 2 * n * n)
    var liwork = blasint(3 + 5 * n)
    var work = [Float](repeating: 0, count: Int(lwork))
    var iwork = [blasint](repeating: 0, count: Int(liwork))
    ssyevd_(
      &jobz, &uplo, &order, &a, &lda, &values, &work, &lwork, &iwork, &liwork, &info, 1, 1)
    guard info == 0 else { throw .lapack(routine: "ssyevd", info: Int(info)) }
    return (values, a)
  }

  /// The reference: the leading axes by power iteration with deflation on
  /// the covariance, in Double. Slow (D² per iteration); for tests.
  static func projectReference(
    _ x: [Float], rows n: Int, columns d: Int, components: Int = 2, iterations: Int = 2000
  ) -> [Float] {
    let centred = centre(x, rows: n, columns: d).map(Double.init)
    var covariance = [Double](repeating: 0, count: d * d)
    for i in 0..<n {
      for a in 0..<d {
        for b in 0..<d { covariance[a * d + b] += centred[i * d + a] * centred[i * d + b] }
      }
    }
    var projections = [Float](repeating: 0, count: n * components)
    for c in 0..<components {
      var v = (0..<d).map { 1 + Double($0 % 7) / 10 }
      var lambda = 0.0
      for _ in 0..<iterations {
        var next = [Double](repeating: 0, count: d)
        for a in 0..<d { for b in 0..<d { next[a] += covariance[a * d + b] * v[b] } }
        lambda = (next.map { $0 * $0 }.reduce(0, +)).squareRoot()
        guard lambda > 0 else { break }
        v = next.map { $0 / lambda }
      }
      for a in 0..<d { for b in 0..<d { covariance[a * d + b] -= lambda * v[a] * v[b] } }
      var column = (0..<n).map { i in (0..<d).reduce(0.0) { $0 + centred[i * d + $1] * v[$1] } }
      if let largest = column.max(by: { abs($0) < abs($1) }), largest < 0 {
        column = column.map { -$0 }
      }
      for i in 0..<n { projections[i * components + c] = Float(column[i]) }
    }
    return projections
  }
}
