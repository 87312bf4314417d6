import XCTest

@testable import Visualization

final class GridLayoutTests: XCTestCase {
  func testAutomaticRowsAndColumnsAreNearSquare() {
    let expected: [(n: Int, rows: Int, columns: Int)] = [
      (1, 1, 1), (2, 1, 2), (3, 2, 2), (4, 2, 2), (5, 2, 3), (10, 3, 4), (32, 6, 6), (64, 8, 8),
    ]
    for (n, rows, columns) in expected {
      let layout = GridLayout(tileCount: n, tileWidth: 3, tileHeight: 3)
      XCTAssertEqual(layout.rows, rows, "rows for \(n) tiles")
      XCTAssertEqual(layout.columns, columns, "columns for \(n) tiles")
    }
  }

  func testChosenRowsOrColumnsFixTheOtherSide() {
    XCTAssertEqual(GridLayout(tileCount: 32, tileWidth: 3, tileHeight: 3, rows: 4).columns, 8)
    XCTAssertEqual(GridLayout(tileCount: 10, tileWidth: 3, tileHeight: 3, columns: 4).rows, 3)
    let both = GridLayout(tileCount: 5, tileWidth: 3, tileHeight: 3, rows: 1, columns: 8)
    XCTAssertEqual(both.rows, 1)
    XCTAssertEqual(both.columns, 8)
  }

  func testImageSizeAndTileOrigins() {
    // 5 tiles of 3×2 at scale 4 in 2 rows × 3 columns, padding 1, labels 10 px.
    let layout = GridLayout(
      tileCount: 5, tileWidth: 3, tileHeight: 2, columns: 3, scale: 4, padding: 1, labelHeight: 10)
    XCTAssertEqual(layout.width, 1 + 3 * (12 + 1))
    XCTAssertEqual(layout.height, 1 + 2 * (8 + 10 + 1))
    XCTAssertEqual(layout.origin(ofTile: 0).x, 1)
    XCTAssertEqual(layout.origin(ofTile: 0).y, 1)
    XCTAssertEqual(layout.origin(ofTile: 2).x, 1 + 2 * 13)
    XCTAssertEqual(layout.origin(ofTile: 4).x, 1 + 13)
    XCTAssertEqual(layout.origin(ofTile: 4).y, 1 + 19)
  }

  func testAutomaticScaleMakesSmallTilesVisible() {
    XCTAssertEqual(GridLayout.automaticScale(tileWidth: 3, tileHeight: 3), 16)
    XCTAssertEqual(GridLayout.automaticScale(tileWidth: 5, tileHeight: 5), 10)
    XCTAssertEqual(GridLayout.automaticScale(tileWidth: 26, tileHeight: 26), 2)
    XCTAssertEqual(GridLayout.automaticScale(tileWidth: 512, tileHeight: 300), 1)
    XCTAssertEqual(GridLayout.automaticScale(tileWidth: 3, tileHeight: 3, target: 30), 10)
  }
}
