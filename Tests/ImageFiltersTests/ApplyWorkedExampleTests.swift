import ImageCodecs
import XCTest

@testable import ImageFilters

/// Small cases worked by hand; each runs through both `apply` and `applyReference`.
final class ApplyWorkedExampleTests: XCTestCase {
  private func gray(_ rows: [[UInt8]]) -> Image {
    Image(width: rows[0].count, height: rows.count, layout: .gray, samples: rows.flatMap { $0 })
  }

  /// Runs both paths, checks they agree exactly, returns the result.
  private func filter(
    _ op: FilterOperation, _ image: Image, _ options: FilterOptions = FilterOptions(),
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> Image {
    let fast = try apply(op, to: image, options: options)
    let reference = try applyReference(op, to: image, options: options)
    XCTAssertEqual(fast, reference, "fast path differs from reference", file: file, line: line)
    return fast
  }

  func testSobelXOnThreeByThree() throws {
    // (-1·1 + 1·3) + (-2·4 + 2·6) + (-1·7 + 1·9) = 2 + 4 + 2
    let out = try filter(
      try BuiltinKernel.sobelX.operation(), gray([[1, 2, 3], [4, 5, 6], [7, 8, 9]]))
    XCTAssertEqual([out.width, out.height], [1, 1])
    XCTAssertEqual(out.samples8, [8])
  }

  func testSobelMagnitude() throws {
    // gx = 8 as above; gy = (7+16+9) - (1+4+3) = 24; sqrt(64 + 576) = 25.298 → 25
    let out = try filter(
      try BuiltinKernel.sobel.operation(), gray([[1, 2, 3], [4, 5, 6], [7, 8, 9]]))
    XCTAssertEqual(out.samples8, [25])
  }

  func testBordersOnARow() throws {
    // Kernel [1,0,0] picks the left neighbour; same padding adds one pixel each side.
    let row = gray([[10, 20, 30]])
    let left = FilterOperation.kernel(Kernel([[1, 0, 0]]))
    let expected: [Border: [UInt8]] = [
      .zero: [0, 10, 20], .replicate: [10, 10, 20], .reflect: [20, 10, 20], .wrap: [30, 10, 20],
    ]
    for border in Border.allCases {
      let out = try filter(left, row, FilterOptions(padding: .same, border: border))
      XCTAssertEqual(out.samples8, expected[border], "\(border)")
    }
  }

  func testReflectBeyondOnePeriodMatchesNumpyPad() throws {
    // np.pad([10,20,30], (4,0), 'reflect') = [10,20,30,20, 10,20,30]
    let out = try filter(
      .kernel(Kernel([[1, 0, 0, 0, 0]])), gray([[10, 20, 30]]),
      FilterOptions(
        padding: .explicit(top: 0, bottom: 0, left: 4, right: 0),
        border: .reflect))
    XCTAssertEqual(out.samples8, [10, 20, 30])
    let wrapped = try filter(
      .kernel(Kernel([[1, 0, 0, 0, 0]])), gray([[10, 20, 30]]),
      FilterOptions(
        padding: .explicit(top: 0, bottom: 0, left: 4, right: 0),
        border: .wrap))
    XCTAssertEqual(wrapped.samples8, [30, 10, 20])
  }

  func testStrideAndDilation() throws {
    let ramp = gray((0..<5).map { y in (0..<5).map { UInt8(y * 5 + $0) } })
    let strided = try filter(.kernel(Kernel([[1]])), ramp, FilterOptions(stride: AxisPair(2)))
    XCTAssertEqual(strided.samples8, [0, 2, 4, 10, 12, 14, 20, 22, 24])
    // 2×2 ones dilated by 2 sum in[y][x] + in[y][x+2] + in[y+2][x] + in[y+2][x+2].
    let dilated = try filter(
      .kernel(Kernel([[1, 1], [1, 1]])), ramp,
      FilterOptions(dilation: AxisPair(2)))
    XCTAssertEqual([dilated.width, dilated.height], [3, 3])
    XCTAssertEqual(dilated.samples8[0], 0 + 2 + 10 + 12)
    XCTAssertEqual(dilated.samples8[8], 12 + 14 + 22 + 24)
  }

  func testRoundingIsHalfToEvenAndClampCuts() throws {
    let out = try filter(.kernel(Kernel([[0.5]])), gray([[1, 3, 5, 7, 255]]))
    XCTAssertEqual(out.samples8, [0, 2, 2, 4, 128])
    let cut = try filter(.kernel(Kernel([[2, -1]])), gray([[200, 10, 0, 30]]))
    XCTAssertEqual(cut.samples8, [255, 20, 0])  // 390, 20, -30
  }

  func testRangeModesScaleAndBias() throws {
    let image = gray([[0, 10, 30, 60]])
    let diff = FilterOperation.kernel(Kernel([[-1, 1]]))  // 10, 20, 30
    XCTAssertEqual(
      try filter(diff, image, FilterOptions(range: .normalize)).samples8, [0, 128, 255])
    let negative = FilterOperation.kernel(Kernel([[1, -1]]))  // -10, -20, -30
    XCTAssertEqual(try filter(negative, image, FilterOptions(range: .clamp)).samples8, [0, 0, 0])
    XCTAssertEqual(try filter(negative, image, FilterOptions(range: .abs)).samples8, [10, 20, 30])
    XCTAssertEqual(
      try filter(negative, image, FilterOptions(scale: -2, bias: 5)).samples8,
      [25, 45, 65])
    XCTAssertEqual(
      try filter(diff, gray([[7, 7, 7]]), FilterOptions(range: .normalize)).samples8,
      [0, 0], "constant result maps to 0")
    XCTAssertThrowsError(try apply(diff, to: image, options: FilterOptions(scale: .infinity))) {
      XCTAssertEqual($0 as? FilterError, .nonFiniteScaleOrBias(scale: .infinity, bias: 0))
    }
  }

  func testApplyThrowsGeometryErrors() {
    let image = gray([[1, 2], [3, 4]])
    XCTAssertThrowsError(
      try apply(.kernel(Kernel([[1, 1, 1]])), to: image, options: FilterOptions())
    ) {
      XCTAssertEqual(
        $0 as? FilterError,
        .kernelLargerThanImage(
          kernelWidth: 3, kernelHeight: 1, paddedWidth: 2, paddedHeight: 2))
    }
    XCTAssertThrowsError(
      try apply(
        .kernel(Kernel([[1]])), to: image,
        options: FilterOptions(stride: AxisPair(0)))
    ) {
      XCTAssertEqual($0 as? FilterError, .invalidStride(AxisPair(0)))
    }
  }

  func testSixteenBitKeepsDepthAndRange() throws {
    let image = Image(width: 3, height: 1, layout: .gray, samples16: [1000, 40000, 65535])
    let out = try filter(.kernel(Kernel([[1, 1]])), image)
    XCTAssertEqual(out.bitDepth, .sixteen)
    XCTAssertEqual(out.samples16, [41000, 65535])
    let normalized = try filter(.kernel(Kernel([[1]])), image, FilterOptions(range: .normalize))
    XCTAssertEqual(normalized.samples16, [0, 39604, 65535])  // 39000 · 65535 / 64535 = 39604.3
  }

  func testRGBAFiltersColourPerChannelAndKeepsAnchorAlpha() throws {
    // 4×1 RGBA; kernel [1,1] (anchor column 0) with stride 2 reads pixels 0+1 and 2+3.
    let pixels: [[UInt8]] = [[10, 20, 30, 200], [1, 2, 3, 100], [5, 5, 5, 50], [7, 8, 9, 25]]
    let image = Image(width: 4, height: 1, layout: .rgba, samples: pixels.flatMap { $0 })
    let out = try filter(
      .kernel(Kernel([[1, 1]])), image, FilterOptions(stride: AxisPair(x: 2, y: 1)))
    XCTAssertEqual(out.layout, .rgba)
    XCTAssertEqual(out.samples8, [11, 22, 33, 200, 12, 13, 14, 50])
  }

  func testGrayAlphaAlphaAtAnchorIsClampedIntoImage() throws {
    // Same padding with a 3-wide kernel: anchor column 1 sits on each pixel itself.
    let image = Image(width: 3, height: 1, layout: .grayAlpha, samples: [9, 1, 9, 2, 9, 3])
    let out = try filter(.kernel(Kernel([[0, 1, 0]])), image, FilterOptions(padding: .same))
    XCTAssertEqual(out.samples8, [9, 1, 9, 2, 9, 3])
    // Explicit left padding 2 at kernel width 1: output pixels 0, 1 lie left of the image.
    let padded = try filter(
      .kernel(Kernel([[1]])), image,
      FilterOptions(padding: .explicit(top: 0, bottom: 0, left: 2, right: 0)))
    XCTAssertEqual(padded.samples8, [0, 1, 0, 1, 9, 1, 9, 2, 9, 3])
  }
}
