import XCTest

@testable import Visualization

final class ColorMapTests: XCTestCase {
  func testGrayRunsFromBlackToWhite() {
    XCTAssertEqual(ColorMap.gray.color(at: 0), .black)
    XCTAssertEqual(ColorMap.gray.color(at: 1), .white)
    XCTAssertEqual(ColorMap.gray.color(at: 0.5), RGB(128, 128, 128))
    XCTAssertEqual(ColorMap.gray.color(at: -3), .black, "clamped")
  }

  func testViridisMatchesMatplotlibsPublishedEndpoints() {
    // #440154, #21918C (middle) and #FDE725 are viridis's documented colours.
    XCTAssertEqual(ColorMap.viridisTable.count, 256)
    XCTAssertEqual(ColorMap.viridis.color(at: 0), RGB(0x44, 0x01, 0x54))
    XCTAssertEqual(ColorMap.viridis.color(at: 1), RGB(0xFD, 0xE7, 0x25))
    let middle = ColorMap.viridis.color(at: 0.5)
    XCTAssertEqual(Int(middle.r), 0x21, accuracy: 2)
    XCTAssertEqual(Int(middle.g), 0x91, accuracy: 2)
    XCTAssertEqual(Int(middle.b), 0x8C, accuracy: 2)
  }

  func testViridisBrightnessIncreasesMonotonically() {
    let lumas = ColorMap.viridisTable.map(\.luma)
    for i in 1..<lumas.count { XCTAssertGreaterThan(lumas[i], lumas[i - 1] - 0.002) }
  }

  func testDivergingIsBlueBelowWhiteAtZeroRedAbove() {
    XCTAssertEqual(ColorMap.diverging.color(at: 0.5), .white)
    XCTAssertEqual(ColorMap.diverging.color(at: 0), RGB(0x05, 0x30, 0x61))
    XCTAssertEqual(ColorMap.diverging.color(at: 1), RGB(0x67, 0x00, 0x1F))
    let negative = ColorMap.diverging.color(at: 0.3)
    XCTAssertGreaterThan(negative.b, negative.r)
    let positive = ColorMap.diverging.color(at: 0.7)
    XCTAssertGreaterThan(positive.r, positive.b)
    XCTAssertTrue(ColorMap.diverging.isDiverging)
    XCTAssertFalse(ColorMap.viridis.isDiverging)
  }

  func testZeroWeightIsWhiteThroughASymmetricRange() {
    let range = ValueRange(of: [-0.1, 0.3]).symmetric
    XCTAssertEqual(ColorMap.diverging.color(at: range.position(of: 0)), .white)
    XCTAssertEqual(ColorMap.diverging.color(at: range.position(of: 0.3)), RGB(0x67, 0x00, 0x1F))
  }
}
