import Tensors
import XCTest

@testable import ModelFormats

/// The in-place layout changes against one-pass copies.
final class InPlaceLayoutTests: XCTestCase {
  private func random(_ count: Int, _ generator: inout SeededGenerator) -> [Float] {
    (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
  }

  func testTransposeMatchesACopyOnBlockedAndPlainShapes() {
    var generator = SeededGenerator(seed: 3)
    // Blocked (a common divisor from 8): 48×80 (16), 256×512 (256),
    // 64×392 (8), 24×24, 1000×10 (10); plain: 7×5, 1×9, 9×1, 1000×12, 30×12.
    for (rows, columns) in [
      (48, 80), (256, 512), (64, 392), (24, 24), (7, 5), (1, 9), (9, 1), (1000, 10), (1000, 12),
      (30, 12),
    ] {
      let matrix = random(rows * columns, &generator)
      var moved = matrix
      InPlaceLayout.transpose(&moved, rows: rows, columns: columns)
      var expected = [Float](repeating: 0, count: matrix.count)
      for r in 0..<rows {
        for c in 0..<columns { expected[c * rows + r] = matrix[r * columns + c] }
      }
      XCTAssertEqual(moved, expected, "\(rows)×\(columns)")
    }
    XCTAssertEqual(InPlaceLayout.blockSide(4096, 25088), 256)
    XCTAssertEqual(InPlaceLayout.blockSide(64, 392), 8)
    XCTAssertEqual(InPlaceLayout.blockSide(1000, 10), 10)
    XCTAssertNil(InPlaceLayout.blockSide(1000, 12))
  }

  func testPermuteRowsMatchesACopy() {
    var generator = SeededGenerator(seed: 4)
    for (rows, length) in [(50, 3), (1, 4), (17, 1), (64, 33)] {
      let matrix = random(rows * length, &generator)
      let order = Array(0..<rows).shuffled(using: &generator)
      var moved = matrix
      InPlaceLayout.permuteRows(&moved, rows: rows, rowLength: length) { order[$0] }
      let expected = (0..<rows).flatMap {
        matrix[(order[$0] * length)..<((order[$0] + 1) * length)]
      }
      XCTAssertEqual(moved, expected, "\(rows) rows of \(length)")
    }
  }

  /// A Dense kernel behind a Flatten of a (c, h, w) image, as Gemm (out,
  /// in) and MatMul (in, out) give it, against the importer's reference.
  func testDenseRearrangementMatchesTheReference() {
    var generator = SeededGenerator(seed: 5)
    for (order, units) in [
      ((c: 8, h: 7, w: 7), 64), ((c: 16, h: 2, w: 3), 10), ((c: 3, h: 1, w: 1), 5),
      ((c: 32, h: 4, w: 4), 256),
    ] {
      let features = order.c * order.h * order.w
      let kernel = random(features * units, &generator)
      for transposed in [false, true] {
        for from in [nil, ONNXImporter.featureSource(order)] {
          var moved = kernel
          ONNXImporter.rearrange(
            &moved, features: features, units: units, transposed: transposed, from: from)
          XCTAssertEqual(
            moved,
            ONNXImporter.rearrangedReference(
              kernel, features: features, units: units, transposed: transposed, from: from),
            "\(order) \(units) transposed \(transposed) reordered \(from != nil)")
        }
      }
    }
  }
}
