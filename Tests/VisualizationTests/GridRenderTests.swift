import Tensors
import XCTest

@testable import Visualization

final class GridRenderTests: XCTestCase {
  /// Two 2×2 tiles: 0…3 and 4…7, laid out in one row.
  func twoTiles() -> Grid {
    var grid = Grid(tiles: [
      GridTile(width: 2, height: 2, values: [0, 1, 2, 3]),
      GridTile(width: 2, height: 2, values: [4, 5, 6, 7]),
    ])
    grid.scale = 3
    grid.padding = 1
    grid.padColor = RGB(10, 20, 30)
    grid.colorMap = .gray
    return grid
  }

  func testGlobalNormalisationSharesOneRange() {
    let grid = twoTiles()
    let image = grid.render()
    XCTAssertEqual(image.width, 1 + 2 * (6 + 1))
    XCTAssertEqual(image.height, 1 + 6 + 1)
    XCTAssertEqual(ImageSamples.pixel(image, 1, 1), .black, "value 0 is the global minimum")
    XCTAssertEqual(ImageSamples.pixel(image, 3, 3), .black, "nearest-neighbour: the block is 3×3")
    XCTAssertEqual(ImageSamples.pixel(image, 4, 1), RGB(36, 36, 36), "value 1 of 0…7")
    XCTAssertEqual(ImageSamples.pixel(image, 8 + 5, 1 + 5), .white, "value 7 is the global maximum")
    XCTAssertEqual(ImageSamples.pixel(image, 0, 0), RGB(10, 20, 30), "outer padding")
    XCTAssertEqual(ImageSamples.pixel(image, 7, 4), RGB(10, 20, 30), "padding between tiles")
  }

  func testEachNormalisationStretchesEveryTile() {
    var grid = twoTiles()
    grid.normalization = .each
    let image = grid.render()
    XCTAssertEqual(ImageSamples.pixel(image, 8, 1), .black, "4 is the second tile's minimum")
    XCTAssertEqual(ImageSamples.pixel(image, 8 + 3, 1), RGB(85, 85, 85), "5 is a third of 4…7")
    XCTAssertNil(grid.sharedRange())
  }

  func testFixedNormalisationClampsOutliers() {
    var grid = twoTiles()
    grid.normalization = .fixed(lo: 2, hi: 4)
    let image = grid.render()
    XCTAssertEqual(ImageSamples.pixel(image, 1, 1), .black)
    XCTAssertEqual(ImageSamples.pixel(image, 1, 4), .black, "2 is the low end")
    XCTAssertEqual(ImageSamples.pixel(image, 4, 4), RGB(128, 128, 128), "3 is the middle")
    XCTAssertEqual(ImageSamples.pixel(image, 8, 1), .white, "4 and above are white")
    XCTAssertEqual(grid.sharedRange(), ValueRange(lo: 2, hi: 4))
  }

  func testDivergingWeightsShowZeroAsWhite() {
    var grid = Grid(tiles: [GridTile(width: 3, height: 1, values: [-0.5, 0, 0.25])])
    grid.scale = 1
    grid.padding = 0
    grid.colorMap = .diverging
    let image = grid.render()
    XCTAssertEqual(ImageSamples.pixel(image, 0, 0), RGB(0x05, 0x30, 0x61))
    XCTAssertEqual(ImageSamples.pixel(image, 1, 0), .white)
    let positive = ImageSamples.pixel(image, 2, 0)
    XCTAssertEqual(positive, ColorMap.diverging.color(at: 0.75), "0.25 of ±0.5")
    XCTAssertEqual(grid.sharedRange()?.lo, -0.5)
    XCTAssertEqual(grid.sharedRange()?.hi, 0.5)
  }

  func testRGBTilesMapChannelsLinearly() {
    var grid = Grid(tiles: [
      GridTile(width: 1, height: 1, red: [1], green: [0], blue: [-1])
    ])
    grid.scale = 2
    grid.padding = 0
    let image = grid.render()
    XCTAssertEqual(ImageSamples.pixel(image, 1, 1), RGB(255, 128, 0))
  }

  func testIndexLabelsAreDrawnUnderEachTile() {
    var grid = twoTiles()
    grid.labels = .index
    grid.scale = 8
    let layout = grid.layout()
    XCTAssertEqual(layout.labelHeight, BitmapFont.lineHeight + 1)
    let image = grid.render()
    let second = layout.origin(ofTile: 1)
    let labelTop = second.y + layout.cellHeight + 1
    // "1" has its top pixel at glyph column 2.
    XCTAssertEqual(ImageSamples.pixel(image, second.x + 2, labelTop), grid.labelColor)
    XCTAssertEqual(ImageSamples.pixel(image, second.x, labelTop), grid.padColor)
    // "0" under the first tile: top row is .###.
    let first = layout.origin(ofTile: 0)
    XCTAssertEqual(ImageSamples.pixel(image, first.x + 1, labelTop), grid.labelColor)
    XCTAssertEqual(ImageSamples.pixel(image, first.x, labelTop), grid.padColor)
  }
}

final class DownsamplingTests: XCTestCase {
  func testBlocksAreAveragedAndEdgesKeepWhatTheyCover() {
    // 3×2 → factor 2 → 2×1: (1+2+4+5)/4 and (3+6)/2.
    let tile = GridTile(width: 3, height: 2, values: [1, 2, 3, 4, 5, 6], label: "x")
    let small = tile.downsampled(by: 2)
    XCTAssertEqual(small.width, 2)
    XCTAssertEqual(small.height, 1)
    XCTAssertEqual(small.planes[0], [3, 4.5])
    XCTAssertEqual(small.label, "x")
    XCTAssertEqual(tile.downsampled(by: 1).planes, tile.planes)
  }

  func testLargeFeatureMapsAreShrunkInTheGrid() {
    let maps = Tensor(zeros: Shape(1, 2, 600, 300))
    let grid = FeatureMaps.grid(maps, maxTileSide: 256)
    XCTAssertEqual(grid.tiles[0].width, 100, "factor ⌈600 / 256⌉ = 3")
    XCTAssertEqual(grid.tiles[0].height, 200)
    XCTAssertEqual(grid.layout().scale, 1, "shrunk maps are not enlarged again")
  }
}

final class TileBorderTests: XCTestCase {
  func testBorderFramesEachTileInsideThePadding() {
    var grid = Grid(tiles: [GridTile(width: 1, height: 1, values: [0])])
    grid.scale = 2
    grid.padding = 2
    grid.padColor = .white
    grid.tileBorder = RGB(1, 2, 3)
    let image = grid.render()
    XCTAssertEqual(ImageSamples.pixel(image, 1, 1), RGB(1, 2, 3), "corner of the frame")
    XCTAssertEqual(ImageSamples.pixel(image, 4, 2), RGB(1, 2, 3), "right edge of the frame")
    XCTAssertEqual(ImageSamples.pixel(image, 2, 2), .black, "the tile itself")
    XCTAssertEqual(ImageSamples.pixel(image, 0, 0), .white, "outer padding")
  }
}
