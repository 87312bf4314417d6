import Tensors
import XCTest

@testable import Explain

final class EmbeddingTests: XCTestCase {
  /// Points along a known axis with a little noise across it: the first
  /// component is the position along the axis, by both LAPACK paths
  /// (covariance and Gram) and by power iteration.
  func testPCAFindsTheKnownPrincipalAxis() throws {
    var g = SeededGenerator(seed: 1)
    for (n, d) in [(60, 5), (6, 9)] {
      let axis = (0..<d).map { Float($0 + 1) }
      let norm = axis.map { $0 * $0 }.reduce(0, +).squareRoot()
      var x = [Float](repeating: 0, count: n * d)
      var t = [Float](repeating: 0, count: n)
      for i in 0..<n {
        t[i] = g.nextFloat(in: -5, 5)
        for j in 0..<d { x[i * d + j] = 3 + t[i] * axis[j] / norm + 0.01 * g.nextFloat(in: -1, 1) }
      }
      let mean = t.reduce(0, +) / Float(n)
      let projections = try PrincipalComponents.project(x, rows: n, columns: d)
      let reference = PrincipalComponents.projectReference(x, rows: n, columns: d)
      let sign: Float = abs(t.max()! - mean) >= abs(t.min()! - mean) ? 1 : -1
      for i in 0..<n {
        XCTAssertEqual(projections[2 * i], sign * (t[i] - mean), accuracy: 0.05, "\(n)×\(d)")
        XCTAssertEqual(projections[2 * i], reference[2 * i], accuracy: 1e-3)
        XCTAssertEqual(abs(projections[2 * i + 1]), abs(reference[2 * i + 1]), accuracy: 1e-2)
      }
    }
  }

  /// LAPACK and power iteration agree on random data with distinct
  /// variances along each feature.
  func testPCAMatchesPowerIteration() throws {
    var g = SeededGenerator(seed: 2)
    let (n, d) = (50, 6)
    let x = (0..<(n * d)).map { Float($0 % d + 1) * g.nextFloat(in: -1, 1) }
    let fast = try PrincipalComponents.project(x, rows: n, columns: d)
    let slow = PrincipalComponents.projectReference(x, rows: n, columns: d)
    for (a, b) in zip(fast, slow) { XCTAssertEqual(a, b, accuracy: 2e-3) }
  }

  static func twoClusters(_ g: inout SeededGenerator, count: Int, d: Int) -> ([Float], [Int]) {
    var x: [Float] = []
    var labels: [Int] = []
    for i in 0..<count {
      let label = i % 2
      labels.append(label)
      for j in 0..<d { x.append(Float(label * 10) * (j % 2 == 0 ? 1 : -1) + g.nextGaussian()) }
    }
    return (x, labels)
  }

  func testTSNESeparatesTwoClustersAndIsRepeatable() {
    var g = SeededGenerator(seed: 3)
    let (x, labels) = Self.twoClusters(&g, count: 80, d: 10)
    var tsne = TSNE(perplexity: 10, seed: 4)
    tsne.iterations = 400
    tsne.exaggerationIterations = 100
    let map = tsne.embed(x, rows: 80, columns: 10)
    XCTAssertTrue(map.allSatisfy(\.isFinite))
    XCTAssertGreaterThan(Neighbours.classAgreement(map, rows: 80, columns: 2, labels: labels), 0.95)
    XCTAssertEqual(tsne.embed(x, rows: 80, columns: 10), map)
    tsne.seed = 5
    XCTAssertNotEqual(tsne.embed(x, rows: 80, columns: 10), map)
  }

  /// Each row of P(j|i) has the asked perplexity: 2^H = perplexity.
  func testConditionalsHaveThePerplexity() {
    var g = SeededGenerator(seed: 6)
    let n = 30
    let x = (0..<(n * 3)).map { _ in g.nextFloat(in: -2, 2) }
    let tsne = TSNE(perplexity: 7)
    let p = tsne.jointProbabilities(
      squaredDistances: Neighbours.squaredDistances(x, rows: n, columns: 3), count: n)
    var total = 0.0
    for v in p { total += Double(v) }
    XCTAssertEqual(total, 1, accuracy: 1e-3)
    for i in 0..<n { XCTAssertEqual(p[i * n + i], 1e-12, accuracy: 1e-12) }
  }

  func testClassAgreementCountsSameLabelNeighbours() {
    // 1-D points 0, 1, 2, 10, 11 labelled a, a, b, b, b; k = 1.
    let x: [Float] = [0, 1, 2, 10, 11]
    let labels = [0, 0, 1, 1, 1]
    // Nearest: 0→1 (same), 1→0 (same, tie with 2 goes to the lower index),
    // 2→1 (different), 10→11 (same), 11→10 (same).
    XCTAssertEqual(Neighbours.classAgreement(x, rows: 5, columns: 1, labels: labels, k: 1), 0.8)
  }
}
