import Tensors
import XCTest

@testable import Visualization

final class WeightTilesTests: XCTestCase {
  /// A (2, 2, cin, cout) HWIO kernel whose value encodes its position:
  /// 1000·y + 100·x + 10·i + o.
  func codedKernel(cin: Int, cout: Int) -> Tensor {
    var storage: [Float] = []
    for y in 0..<2 {
      for x in 0..<2 {
        for i in 0..<cin {
          for o in 0..<cout {
            storage.append(Float(1000 * y + 100 * x + 10 * i + o))
          }
        }
      }
    }
    return Tensor(shape: Shape(2, 2, cin, cout), storage: storage)
  }

  func testSingleChannelFiltersBecomeOneTileEach() {
    let (tiles, columns) = WeightTiles.tiles(kernel: codedKernel(cin: 1, cout: 3), view: .mosaic)
    XCTAssertNil(columns)
    XCTAssertEqual(tiles.count, 3)
    XCTAssertEqual(tiles[2].planes[0], [2, 102, 1002, 1102], "row-major y, x of filter 2")
    XCTAssertEqual(tiles[2].label, "2")
  }

  func testMosaicHasOneRowPerFilterAndOneColumnPerInputChannel() {
    let (tiles, columns) = WeightTiles.tiles(kernel: codedKernel(cin: 3, cout: 2), view: .mosaic)
    XCTAssertEqual(columns, 3)
    XCTAssertEqual(tiles.count, 6)
    XCTAssertEqual(tiles[1].planes[0], [10, 110, 1010, 1110], "filter 0, input channel 1")
    XCTAssertEqual(tiles[5].planes[0], [21, 121, 1021, 1121], "filter 1, input channel 2")
  }

  func testMeanAveragesTheInputChannels() {
    let (tiles, _) = WeightTiles.tiles(kernel: codedKernel(cin: 3, cout: 2), view: .mean)
    XCTAssertEqual(tiles.count, 2)
    XCTAssertEqual(tiles[1].planes[0], [11, 111, 1011, 1111], "mean of 1, 11, 21 at (0, 0)")
  }

  func testRGBTilesTakeChannelsInOrder() {
    let tiles = WeightTiles.rgbTiles(kernel: codedKernel(cin: 3, cout: 2))
    XCTAssertEqual(tiles.count, 2)
    XCTAssertTrue(tiles[0].isRGB)
    XCTAssertEqual(tiles[1].planes[0][0], 1)
    XCTAssertEqual(tiles[1].planes[1][0], 11)
    XCTAssertEqual(tiles[1].planes[2][3], 1121)
  }

  func testThreeChannelFiltersAlsoGetAColourPicture() throws {
    let kernel = codedKernel(cin: 3, cout: 2)
    let picture = WeightGrid(kernel: kernel, title: "rgb")
    let rgb = try XCTUnwrap(picture.renderRGB())
    // Per filter range, as renderRGB: filter 0 spans 0…1120; its top-left
    // weights (0, 10, 20) become (0, 2.3, 4.6) → (0, 2, 5).
    var grid = Grid(tiles: WeightTiles.rgbTiles(kernel: kernel))
    grid.normalization = .each
    grid.scale = 1
    grid.padding = 0
    XCTAssertEqual(ImageSamples.pixel(grid.render(), 0, 0), RGB(0, 2, 5))
    XCTAssertGreaterThan(rgb.width, 2 * 2 * 24, "two 2×2 filters enlarged to 48 px")
    XCTAssertEqual(picture.grid().columns, 3, "the main picture is a 2 × 3 mosaic")
  }

  func testWeightGridDefaultsToASymmetricDivergingRange() {
    let kernel = Tensor(shape: Shape(1, 2, 1, 2), storage: [-0.2, 0.1, 0, 0.05])
    let picture = WeightGrid(kernel: kernel, title: "conv2d")
    let grid = picture.grid()
    XCTAssertEqual(grid.colorMap, .diverging)
    XCTAssertEqual(grid.sharedRange()?.lo, -0.2)
    XCTAssertEqual(grid.sharedRange()?.hi, 0.2)
    // Filter 1 is (0.1, 0.05): its first pixel is light red, filter 0's is blue.
    let image = grid.render()
    let layout = grid.layout()
    let filter0 = ImageSamples.pixel(image, layout.origin(ofTile: 0).x, layout.origin(ofTile: 0).y)
    XCTAssertEqual(filter0, ColorMap.diverging.color(at: 0))
    let zero = ImageSamples.pixel(
      image, layout.origin(ofTile: 0).x + layout.scale, layout.origin(ofTile: 0).y)
    XCTAssertEqual(zero, .white)
    let rendered = picture.render()
    XCTAssertGreaterThan(rendered.width, image.width, "the colour bar sits beside the grid")
    XCTAssertNil(picture.renderRGB(), "one input channel has no RGB view")
  }

  func testStatisticsOfKnownValues() {
    let stats = TensorStatistics(
      name: "conv2d/bias", tensor: Tensor(shape: Shape(4), storage: [1, 2, 3, 6]))
    XCTAssertEqual(stats.min, 1)
    XCTAssertEqual(stats.max, 6)
    XCTAssertEqual(stats.mean, 3)
    XCTAssertEqual(stats.standardDeviation, (14.0 / 4).squareRoot(), accuracy: 1e-12)
    let table = TensorStatistics.table([stats])
    let lines = table.split(separator: "\n")
    XCTAssertEqual(lines.count, 2)
    XCTAssertTrue(lines[1].hasPrefix("conv2d/bias  (4)"))
    XCTAssertTrue(lines[1].hasSuffix("1.00000    6.00000    3.00000    1.87083"))
  }
}
