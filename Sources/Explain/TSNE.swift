import COpenBLAS
import Foundation
import Tensors

/// Exact t-SNE (van der Maaten and Hinton 2008), with the optimisation
/// settings of scikit-learn's `TSNE`: P from a binary search of each
/// point's Gaussian precision to the perplexity, symmetrised; 1000
/// iterations of gradient descent with momentum 0.5 then 0.8 and
/// per-coordinate gains, the first 250 with P exaggerated 12×; a
/// learning rate of max(N / 12 / 4, 50); a start drawn from N(0, 10⁻⁴)
/// by the seed. O(N²) time and memory per iteration.
public struct TSNE: Sendable {
  /// The effective number of neighbours each point's Gaussian covers
  /// (default 30, as scikit-learn's); must be below N.
  public var perplexity: Double = 30
  public var iterations = 1000
  public var exaggeration: Float = 12
  public var exaggerationIterations = 250
  public var seed: UInt64 = 0

  public init(perplexity: Double = 30, seed: UInt64 = 0) {
    self.perplexity = perplexity
    self.seed = seed
  }

  /// The 2-D map (N, 2) of the rows of `x` (N, D).
  public func embed(_ x: [Float], rows n: Int, columns d: Int) -> [Float] {
    precondition(x.count == n * d && n >= 2, "x is not N×D with N ≥ 2")
    let p = jointProbabilities(
      squaredDistances: Neighbours.squaredDistances(x, rows: n, columns: d), count: n)
    let learningRate = max(Float(n) / exaggeration / 4, 50)
    var g = SeededGenerator(seed: seed)
    var y = (0..<(2 * n)).map { _ in 1e-2 * g.nextGaussian() }
    var update = [Float](repeating: 0, count: 2 * n)
    var gains = [Float](repeating: 1, count: 2 * n)
    var q = [Float](repeating: 0, count: n * n)
    var gradient = [Float](repeating: 0, count: 2 * n)
    for iteration in 0..<iterations {
      let exaggerated = iteration < exaggerationIterations
      let scale = exaggerated ? exaggeration : 1
      let momentum: Float = exaggerated ? 0.5 : 0.8
      // Student-t affinities, unnormalised, and their sum.
      var sum: Double = 0
      for i in 0..<n {
        for j in (i + 1)..<n {
          let dx = y[2 * i] - y[2 * j]
          let dy = y[2 * i + 1] - y[2 * j + 1]
          let t = 1 / (1 + dx * dx + dy * dy)
          q[i * n + j] = t
          q[j * n + i] = t
          sum += 2 * Double(t)
        }
      }
      let z = Float(max(sum, 1e-12))
      for i in 0..<n {
        var (gx, gy): (Float, Float) = (0, 0)
        for j in 0..<n where j != i {
          let t = q[i * n + j]
          let force = (scale * p[i * n + j] - t / z) * t
          gx += force * (y[2 * i] - y[2 * j])
          gy += force * (y[2 * i + 1] - y[2 * j + 1])
        }
        gradient[2 * i] = 4 * gx
        gradient[2 * i + 1] = 4 * gy
      }
      for i in 0..<(2 * n) {
        // Gains grow where the step keeps changing direction's opposite.
        gains[i] = (gradient[i] > 0) != (update[i] > 0) ? gains[i] + 0.2 : max(gains[i] * 0.8, 0.01)
        update[i] = momentum * update[i] - learningRate * gains[i] * gradient[i]
        y[i] += update[i]
      }
    }
    return y
  }

  /// The symmetric joint probabilities (N × N): each row's conditional
  /// P(j|i) ∝ exp(−β_i d²_ij) with β_i found by bisection so that its
  /// entropy is log(perplexity), then (P(j|i) + P(i|j)) / 2N.
  func jointProbabilities(squaredDistances d2: [Float], count n: Int) -> [Float] {
    let target = Foundation.log(min(perplexity, Double(n - 1)))
    var conditional = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      var (beta, lo, hi) = (1.0, 0.0, Double.infinity)
      var row = [Double](repeating: 0, count: n)
      for _ in 0..<100 {
        var sum = 0.0
        var weighted = 0.0
        for j in 0..<n where j != i {
          let e = Foundation.exp(-Double(d2[i * n + j]) * beta)
          row[j] = e
          sum += e
          weighted += Double(d2[i * n + j]) * e
        }
        sum = max(sum, 1e-300)
        // H = log Σ + β Σ d² e / Σ
        let entropy = Foundation.log(sum) + beta * weighted / sum
        for j in 0..<n { row[j] /= sum }
        let gap = entropy - target
        if abs(gap) < 1e-5 { break }
        if gap > 0 {
          lo = beta
          beta = hi.isFinite ? (beta + hi) / 2 : beta * 2
        } else {
          hi = beta
          beta = (beta + lo) / 2
        }
      }
      row[i] = 0
      for j in 0..<n { conditional[i * n + j] = row[j] }
    }
    var p = [Float](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0..<n {
        p[i * n + j] = Float(
          max((conditional[i * n + j] + conditional[j * n + i]) / (2 * Double(n)), 1e-12))
      }
    }
    return p
  }
}

/// Nearest neighbours by Euclidean distance.
public enum Neighbours {
  /// All squared distances (N × N) between the rows of `x` (N, D):
  /// ‖a‖² + ‖b‖² − 2a·b, the products by one BLAS call, clamped at 0.
  public static func squaredDistances(_ x: [Float], rows n: Int, columns d: Int) -> [Float] {
    var gram = [Float](repeating: 0, count: n * n)
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(d), 1, x, Int32(d), x,
      Int32(d), 0, &gram, Int32(n))
    var out = gram
    for i in 0..<n {
      for j in 0..<n {
        out[i * n + j] =
          i == j ? 0 : max(gram[i * n + i] + gram[j * n + j] - 2 * gram[i * n + j], 0)
      }
    }
    return out
  }

  /// The mean over points of the fraction of its `k` nearest other points
  /// (ties by index) that share its label: how well a map keeps classes
  /// together, 1 when every neighbourhood is pure.
  public static func classAgreement(
    _ x: [Float], rows n: Int, columns d: Int, labels: [Int], k: Int = 5
  ) -> Double {
    precondition(labels.count == n && k >= 1 && n > k, "one label per row, and more rows than k")
    let d2 = squaredDistances(x, rows: n, columns: d)
    var total = 0.0
    for i in 0..<n {
      let nearest = (0..<n).filter { $0 != i }.sorted {
        d2[i * n + $0] != d2[i * n + $1] ? d2[i * n + $0] < d2[i * n + $1] : $0 < $1
      }.prefix(k)
      total += Double(nearest.filter { labels[$0] == labels[i] }.count) / Double(k)
    }
    return total / Double(n)
  }
}
