import XCTest

@testable import Visualization

final class NormalizationTests: XCTestCase {
  let tiles: [[Float]] = [[1, 2, 3], [-4, 0, 0.5]]

  func testEachUsesEveryTilesOwnRange() {
    let ranges = Normalization.each.ranges(of: tiles, symmetric: false)
    XCTAssertEqual(ranges, [ValueRange(lo: 1, hi: 3), ValueRange(lo: -4, hi: 0.5)])
  }

  func testGlobalUsesOneRangeOverAllTiles() {
    let ranges = Normalization.global.ranges(of: tiles, symmetric: false)
    XCTAssertEqual(ranges, [ValueRange(lo: -4, hi: 3), ValueRange(lo: -4, hi: 3)])
  }

  func testFixedUsesTheGivenRangeAndClamps() {
    let ranges = Normalization.fixed(lo: 0, hi: 2).ranges(of: tiles, symmetric: false)
    XCTAssertEqual(ranges[1].lo, 0)
    XCTAssertEqual(ranges[1].hi, 2)
    XCTAssertEqual(ranges[0].position(of: 3), 1)
    XCTAssertEqual(ranges[0].position(of: -4), 0)
    XCTAssertEqual(ranges[0].position(of: 0.5), 0.25)
  }

  func testSymmetricRangesAreCentredOnZero() {
    let ranges = Normalization.global.ranges(of: tiles, symmetric: true)
    XCTAssertEqual(ranges[0].lo, -4)
    XCTAssertEqual(ranges[0].hi, 4)
    XCTAssertEqual(ranges[0].position(of: 0), 0.5)
    XCTAssertEqual(ranges[0].position(of: 2), 0.75)
    let each = Normalization.each.ranges(of: tiles, symmetric: true)
    XCTAssertEqual(each[0].lo, -3)
    XCTAssertEqual(each[0].hi, 3)
  }

  func testEmptyRangesDrawAsZero() {
    let dead = ValueRange(of: [0, 0, 0])
    XCTAssertEqual(dead.position(of: 0), 0, "a dead ReLU map is drawn at the low end")
    XCTAssertEqual(dead.symmetric.position(of: 0), 0.5, "all-zero weights are drawn as zero")
  }

  func testNonFiniteValuesAreIgnored() {
    let range = ValueRange(of: [.nan, 2, .infinity, -1])
    XCTAssertEqual(range, ValueRange(lo: -1, hi: 2))
    XCTAssertEqual(ValueRange(of: [.nan]), ValueRange(lo: 0, hi: 0))
  }

  func testParsingTheCommandLineSyntax() {
    XCTAssertEqual(Normalization(parsing: "each"), .each)
    XCTAssertEqual(Normalization(parsing: "global"), .global)
    XCTAssertEqual(Normalization(parsing: "fixed:-0.5,0.5"), .fixed(lo: -0.5, hi: 0.5))
    XCTAssertNil(Normalization(parsing: "fixed:1,0"))
    XCTAssertNil(Normalization(parsing: "fixed:1"))
    XCTAssertNil(Normalization(parsing: "perLayer"))
  }
}
