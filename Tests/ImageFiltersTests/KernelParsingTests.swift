import Foundation
import XCTest

@testable import ImageFilters

final class KernelParsingTests: XCTestCase {
  func testParsesSemicolonRows() throws {
    let k = try Kernel.parse("1,0,-1;2,0,-2;1,0,-1")
    XCTAssertEqual(k.rows, 3)
    XCTAssertEqual(k.cols, 3)
    XCTAssertEqual(k.weights, [1, 0, -1, 2, 0, -2, 1, 0, -1])
  }

  func testParsesNewlinesWhitespaceCommentsAndFractions() throws {
    let text = """
      # a 2x3 kernel
      1/9  2, 3e-1   # first row
        -4 , 5.5 6

      """
    let k = try Kernel.parse(text)
    XCTAssertEqual(k.rows, 2)
    XCTAssertEqual(k.cols, 3)
    XCTAssertEqual(k.weights, [Float(1.0 / 9.0), 2, 0.3, -4, 5.5, 6])
  }

  func testParsesRowAndColumnVectorsAndTrailingSeparator() throws {
    XCTAssertEqual(try Kernel.parse("1 2 3 4").matrix, [[1, 2, 3, 4]])
    XCTAssertEqual(try Kernel.parse("1;2;3;").matrix, [[1], [2], [3]])
    XCTAssertEqual(try Kernel.parse("1,2\r\n3,4\r\n").matrix, [[1, 2], [3, 4]])
  }

  func testRejectsBadTextsWithExactError() {
    let cases: [(String, KernelError)] = [
      ("", .empty),
      ("  # nothing here\n;;\n", .empty),
      ("1,x;2,3", .notANumber(token: "x", row: 1, column: 2)),
      ("1,2;3,4,5", .raggedRow(row: 2, expected: 2, found: 3)),
      ("1,2\n3", .raggedRow(row: 2, expected: 2, found: 1)),
      ("1, nan", .nonFinite(token: "nan", row: 1, column: 2)),
      ("1;inf", .nonFinite(token: "inf", row: 2, column: 1)),
      ("1e39", .nonFinite(token: "1e39", row: 1, column: 1)),
      ("2, 1/0", .nonFinite(token: "1/0", row: 1, column: 2)),
      ("1,,2", .missingValue(row: 1, column: 2)),
      ("1,2,", .missingValue(row: 1, column: 3)),
      ("0x10", .notANumber(token: "0x10", row: 1, column: 1)),
      ("1/2/3", .notANumber(token: "1/2/3", row: 1, column: 1)),
      ("1 2;3 4;5 six", .notANumber(token: "six", row: 3, column: 2)),
    ]
    for (text, expected) in cases {
      XCTAssertThrowsError(try Kernel.parse(text), "text \(text.debugDescription)") { error in
        XCTAssertEqual(error as? KernelError, expected, "text \(text.debugDescription)")
      }
    }
  }

  func testLoadsFileAndWrapsErrorsWithPath() throws {
    let dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("convolution-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let good = dir.appendingPathComponent("good.txt").path
    try "# sobel x\n-1 0 1\n-2 0 2\n-1 0 1\n".write(toFile: good, atomically: true, encoding: .utf8)
    XCTAssertEqual(try Kernel.load(contentsOfFile: good), BuiltinKernel.sobelXKernel)

    let bad = dir.appendingPathComponent("bad.txt").path
    try "1 2\n# comment\n3 q\n".write(toFile: bad, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try Kernel.load(contentsOfFile: bad)) { error in
      XCTAssertEqual(
        error as? KernelError,
        .inFile(path: bad, error: .notANumber(token: "q", row: 2, column: 2)))
      XCTAssertTrue("\(error)".hasPrefix(bad))
    }
    let missing = dir.appendingPathComponent("missing.txt").path
    XCTAssertThrowsError(try Kernel.load(contentsOfFile: missing)) { error in
      XCTAssertEqual(error as? KernelError, .unreadableFile(path: missing, reason: "no such file"))
    }
    XCTAssertThrowsError(try Kernel.load(contentsOfFile: dir.path)) { error in
      XCTAssertEqual(
        error as? KernelError, .unreadableFile(path: dir.path, reason: "is a directory"))
    }
  }

  func testDescriptionRoundTripsThroughParse() throws {
    let k = Kernel([[0.5, -1, 2], [3, 0.25, -7]])
    XCTAssertEqual(try Kernel.parse(k.description), k)
  }

  func testSeparability() throws {
    for name in [BuiltinKernel.blur, .sobelX, .sobelY, .prewittX, .prewittY, .identity] {
      guard case .kernel(let k) = try name.operation() else { return XCTFail("\(name)") }
      let factors = try XCTUnwrap(k.separableFactors, "\(name) should be separable")
      for r in 0..<k.rows {
        for c in 0..<k.cols {
          XCTAssertEqual(factors.column[r] * factors.row[c], k[r, c], accuracy: 1e-6, "\(name)")
        }
      }
    }
    for name in [BuiltinKernel.edges, .laplacian4, .sharpen, .emboss] {
      guard case .kernel(let k) = try name.operation() else { return XCTFail("\(name)") }
      XCTAssertFalse(k.isSeparable, "\(name) is not rank 1")
    }
    XCTAssertTrue(try BuiltinKernel.gaussian(sigma: 2).isSeparable)
    XCTAssertTrue(Kernel([[1, 2], [2, 4.00001]]).isSeparable, "within tolerance")
    XCTAssertFalse(Kernel([[1, 2], [2, 4.01]]).isSeparable)
    XCTAssertTrue(Kernel([[0, 0], [0, 0]]).isSeparable)
  }
}
