import XCTest

@testable import ImageFilters

final class FilterGeometryTests: XCTestCase {
  private func geometry(
    _ width: Int, _ height: Int, kernel: (rows: Int, cols: Int) = (3, 3),
    _ options: FilterOptions
  ) throws -> FilterGeometry {
    try FilterGeometry(
      inputWidth: width, inputHeight: height, kernelRows: kernel.rows,
      kernelCols: kernel.cols, options: options)
  }

  func testValidIsTheSeeds() throws {
    let g = try geometry(28, 28, FilterOptions())
    XCTAssertEqual([g.outputWidth, g.outputHeight], [26, 26])
    XCTAssertTrue(g.strideDividesEvenly)
  }

  func testSameAtStrideOneKeepsSizeAndPutsOddPixelAfter() throws {
    let same = FilterOptions(padding: .same)
    let odd = try geometry(10, 7, kernel: (5, 3), same)
    XCTAssertEqual([odd.outputWidth, odd.outputHeight], [10, 7])
    XCTAssertEqual([odd.padTop, odd.padBottom, odd.padLeft, odd.padRight], [2, 2, 1, 1])
    let even = try geometry(10, 7, kernel: (2, 4), same)
    XCTAssertEqual([even.outputWidth, even.outputHeight], [10, 7])
    XCTAssertEqual([even.padTop, even.padBottom, even.padLeft, even.padRight], [0, 1, 1, 2])
  }

  func testSameWithStrideMatchesTensorFlowWorkedExamples() throws {
    // TF docs: out = ceil(in / stride); pad = max((out-1)*stride + k - in, 0).
    let s2 = FilterOptions(stride: AxisPair(2), padding: .same)
    let a = try geometry(5, 6, s2)
    XCTAssertEqual([a.outputWidth, a.outputHeight], [3, 3])
    XCTAssertEqual([a.padLeft, a.padRight, a.padTop, a.padBottom], [1, 1, 0, 1])
    let dilated = FilterOptions(stride: AxisPair(x: 3, y: 1), dilation: AxisPair(2), padding: .same)
    let b = try geometry(10, 4, dilated)  // span 5; x: out 4, pad 9+5-10 = 4
    XCTAssertEqual([b.outputWidth, b.outputHeight], [4, 4])
    XCTAssertEqual([b.padLeft, b.padRight, b.padTop, b.padBottom], [2, 2, 2, 2])
  }

  func testExplicitWithStrideAndDilation() throws {
    let options = FilterOptions(stride: AxisPair(2), dilation: AxisPair(2), padding: .symmetric(1))
    let even = try geometry(7, 8, options)  // (7+2-5)/2+1 = 3, (8+2-5)/2+1 = 3 rem 1
    XCTAssertEqual([even.outputWidth, even.outputHeight], [3, 3])
    XCTAssertEqual(even.droppedPixels, AxisPair(x: 0, y: 1))
    XCTAssertFalse(even.strideDividesEvenly)
  }

  func testOutputSizeFormulaAgainstCountingPositions() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<500 {
      let i = Int.random(in: 1...20, using: &rng)
      let f = Int.random(in: 1...5, using: &rng)
      let s = Int.random(in: 1...4, using: &rng)
      let d = Int.random(in: 1...3, using: &rng)
      let p0 = Int.random(in: 0...3, using: &rng)
      let p1 = Int.random(in: 0...3, using: &rng)
      let options = FilterOptions(
        stride: AxisPair(s), dilation: AxisPair(d),
        padding: .explicit(top: p0, bottom: p1, left: p0, right: p1))
      // Count the kernel positions that fit in the padded axis, one by one.
      let fits = (0..<100).filter { $0 * s + d * (f - 1) <= i + p0 + p1 - 1 }.count
      if fits == 0 {
        XCTAssertThrowsError(try geometry(i, i, kernel: (f, f), options))
        continue
      }
      let g = try geometry(i, i, kernel: (f, f), options)
      XCTAssertEqual(g.outputWidth, fits, "I \(i) F \(f) S \(s) D \(d) P \(p0)+\(p1)")
      XCTAssertEqual(g.outputWidth, (i - d * (f - 1) - 1 + p0 + p1) / s + 1)
      XCTAssertEqual(g.droppedPixels.x, (i + p0 + p1 - d * (f - 1) - 1) % s)
    }
  }

  func testTypedErrors() throws {
    XCTAssertThrowsError(try geometry(5, 5, FilterOptions(stride: AxisPair(x: 0, y: 1)))) {
      XCTAssertEqual($0 as? FilterError, .invalidStride(AxisPair(x: 0, y: 1)))
    }
    XCTAssertThrowsError(try geometry(5, 5, FilterOptions(dilation: AxisPair(0)))) {
      XCTAssertEqual($0 as? FilterError, .invalidDilation(AxisPair(0)))
    }
    XCTAssertThrowsError(try geometry(2, 5, FilterOptions())) {
      XCTAssertEqual(
        $0 as? FilterError,
        .kernelLargerThanImage(
          kernelWidth: 3, kernelHeight: 3, paddedWidth: 2, paddedHeight: 5))
    }
    XCTAssertThrowsError(try geometry(5, 5, FilterOptions(dilation: AxisPair(3)))) {
      XCTAssertEqual(
        $0 as? FilterError,
        .kernelLargerThanImage(
          kernelWidth: 7, kernelHeight: 7, paddedWidth: 5, paddedHeight: 5))
    }
    XCTAssertNoThrow(try geometry(2, 2, FilterOptions(padding: .symmetric(1))))
    XCTAssertThrowsError(
      try geometry(
        5, 5,
        FilterOptions(
          padding: .explicit(
            top: 0, bottom: -1, left: 0, right: 0)))
    ) {
      XCTAssertEqual($0 as? FilterError, .invalidPadding(top: 0, bottom: -1, left: 0, right: 0))
    }
    // Absurd values are refused instead of overflowing the size arithmetic.
    XCTAssertThrowsError(
      try geometry(5, 5, FilterOptions(stride: AxisPair(Int.max), padding: .same))
    ) {
      XCTAssertEqual($0 as? FilterError, .invalidStride(AxisPair(Int.max)))
    }
    XCTAssertThrowsError(try geometry(5, 5, FilterOptions(dilation: AxisPair(x: 1, y: Int.max)))) {
      XCTAssertEqual($0 as? FilterError, .invalidDilation(AxisPair(x: 1, y: Int.max)))
    }
    XCTAssertThrowsError(try geometry(5, 5, FilterOptions(padding: .symmetric(Int.max)))) {
      XCTAssertEqual(
        $0 as? FilterError,
        .invalidPadding(
          top: Int.max, bottom: Int.max, left: Int.max, right: Int.max))
    }
    let huge = try geometry(5, 5, FilterOptions(stride: AxisPair(1 << 24), padding: .same))
    XCTAssertEqual([huge.outputWidth, huge.outputHeight], [1, 1])
    XCTAssertThrowsError(try geometry(0, 5, FilterOptions())) {
      XCTAssertEqual($0 as? FilterError, .emptyImage)
    }
  }
}
