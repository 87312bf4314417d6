import XCTest

@testable import ImageCodecs

final class ConversionTests: XCTestCase {
  func testColorToGrayUsesRec601LumaLikePillow() {
    // Values worked by hand: (299 R + 587 G + 114 B) / 1000, rounded.
    let rgb = Image(
      width: 4, height: 1, layout: .rgb,
      samples: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30])
    // 76.245 → 76, 149.685 → 150, 29.07 → 29, 2.99+117.4+3.42 = 123.81 → 124
    XCTAssertEqual(rgb.converted(to: .gray).samples8, [76, 150, 29, 124])
    let rgba = Image(width: 1, height: 1, layout: .rgba, samples: [255, 255, 255, 7])
    XCTAssertEqual(rgba.converted(to: .grayAlpha).samples8, [255, 7])
    XCTAssertEqual(rgba.converted(to: .gray).samples8, [255])
    XCTAssertEqual(rgba.converted(to: .rgb).samples8, [255, 255, 255])
    XCTAssertEqual(rgb.converted(to: .grayAlpha).samples8, [76, 255, 150, 255, 29, 255, 124, 255])
  }

  func testGrayToColorAndAlpha() {
    let gray = Image(width: 2, height: 1, layout: .gray, samples: [3, 250])
    XCTAssertEqual(gray.converted(to: .rgb).samples8, [3, 3, 3, 250, 250, 250])
    XCTAssertEqual(gray.converted(to: .rgba).samples8, [3, 3, 3, 255, 250, 250, 250, 255])
    XCTAssertEqual(gray.converted(to: .grayAlpha).samples8, [3, 255, 250, 255])
    let grayAlpha = Image(width: 1, height: 1, layout: .grayAlpha, samples: [9, 100])
    XCTAssertEqual(grayAlpha.converted(to: .rgba).samples8, [9, 9, 9, 100])
    XCTAssertEqual(grayAlpha.converted(to: .rgb).samples8, [9, 9, 9])
    XCTAssertEqual(gray.converted(to: .gray), gray)
  }

  func testSixteenBitConversionsKeepDepth() {
    let rgb = Image(width: 1, height: 1, layout: .rgb, samples16: [65535, 0, 1000])
    let gray = rgb.converted(to: .gray)
    XCTAssertEqual(gray.bitDepth, .sixteen)
    // 299 * 65535 + 114 * 1000 = 19,708,965 → 19708.965 → 19709
    XCTAssertEqual(gray.samples16, [19709])
    XCTAssertEqual(rgb.converted(to: .rgba).samples16, [65535, 0, 1000, 65535])
  }

  func testTo8BitRoundsAndTo16BitWidens() {
    let wide = Image(width: 5, height: 1, layout: .gray, samples16: [0, 128, 129, 65535, 257 * 77])
    // 128/257 = 0.498 → 0, 129/257 = 0.502 → 1
    XCTAssertEqual(wide.to8Bit().samples8, [0, 0, 1, 255, 77])
    let narrow = Image(width: 3, height: 1, layout: .gray, samples: [0, 1, 255])
    XCTAssertEqual(narrow.to16Bit().samples16, [0, 257, 65535])
    XCTAssertEqual(narrow.to16Bit().to8Bit(), narrow)
    XCTAssertEqual(narrow.to8Bit(), narrow)
  }
}
