import ImageCodecs
import Tensors
import XCTest

@testable import Visualization

final class GridLabelTests: XCTestCase {
  func tiles(_ count: Int, side: Int = 4, label: (Int) -> String? = { _ in nil }) -> [GridTile] {
    (0..<count).map { k in
      GridTile(
        width: side, height: side, values: (0..<(side * side)).map { Float($0 * (k + 1)) / 7 - 1 },
        label: label(k))
    }
  }

  func testLongLabelsWrapAndAreNeverCut() {
    // MisclassifiedExamples' captions under 32 px tiles.
    let names = ClassNames.cifar10 + ClassNames.long
    var grid = Grid(tiles: tiles(names.count, side: 8) { "as " + names[$0] })
    grid.labels = .custom
    grid.scale = 4
    grid.padding = 4
    let picture = grid.picture()
    assertLabelsApart(picture, "wrapped labels")
    let layout = grid.layout()
    for (index, name) in names.enumerated() {
      let origin = layout.origin(ofTile: index)
      let lines = picture.textBoxes.filter {
        $0.y > origin.y + layout.cellHeight - 1 && $0.y < origin.y + layout.rowHeight
          && $0.x >= layout.columnLeft(index % layout.columns)
          && $0.x < layout.columnLeft(index % layout.columns) + layout.columnWidth
      }
      XCTAssertEqual(
        lines.map(\.text).joined(separator: " "), "as " + name, "tile \(index): every word")
    }
    XCTAssertGreaterThan(
      layout.columnWidth, layout.cellWidth, "\"commas\"… the widest word widens the columns")
  }

  func testRangeLabelsNeverOverlapOnSmallTiles() {
    for scale in 1...6 {
      var grid = Grid(tiles: tiles(12, side: 5))
      grid.labels = .range
      grid.scale = scale
      grid.padding = 2
      assertLabelsApart(grid.picture(), "range labels at scale \(scale)")
      grid.labels = .indexAndRange
      assertLabelsApart(grid.picture(), "index and range at scale \(scale)")
    }
  }

  func testLabelsOfNeighbouringColumnsKeepABlankBetweenThem() {
    var grid = Grid(tiles: tiles(8, side: 3))
    grid.labels = .range
    grid.scale = 1
    let boxes = grid.picture().textBoxes
    for a in boxes {
      for b in boxes where b.x > a.x && a.y < b.y + b.height && b.y < a.y + a.height {
        XCTAssertGreaterThanOrEqual(b.x - (a.x + a.width), BitmapFont.advance, "\(a) and \(b)")
      }
    }
  }

  func testMosaicHasNumberedRowsAndColumnsAndSaysWhichIsWhich() {
    // 3 filters over 4 input channels.
    let kernel = Tensor(
      shape: Shape(3, 3, 4, 3), storage: (0..<108).map { (Float($0 % 11) - 5) / 10 })
    let weights = WeightGrid(kernel: kernel, title: "conv2d_1")
    let picture = weights.picture()
    assertLabelsApart(picture, "mosaic")
    let texts = picture.textBoxes.map(\.text)
    for text in ["input channel", "0", "1", "2", "3", "weight"] {
      XCTAssertTrue(texts.contains(text), "\(text) in \(texts)")
    }
    XCTAssertEqual(picture.textBoxes.filter(\.isVertical).map(\.text), ["filter"])
    XCTAssertEqual(texts.filter { $0 == "3" }.count, 1, "columns 0…3 but rows 0…2")
    XCTAssertEqual(texts.filter { $0 == "0" }.count, 2, "row 0 and column 0")
    XCTAssertTrue(
      texts.joined(separator: " ").contains("filter r (output channel r) applies to input"),
      "the caption says which axis is which")
    // Column numbers sit over their columns, row numbers beside their rows.
    let grid = weights.grid()
    let layout = grid.layout()
    let margins = grid.margins(for: layout)
    let boxes = grid.picture().textBoxes
    let column3 = boxes.first { $0.text == "3" }!
    let x = margins.left + layout.origin(row: 0, column: 3).x
    XCTAssertTrue(column3.x >= x && column3.x + column3.width <= x + layout.cellWidth)
    XCTAssertLessThan(column3.y + column3.height, margins.top)
    let row2 = boxes.first { $0.text == "2" && $0.x < margins.left }!
    let y = margins.top + layout.origin(row: 2, column: 0).y
    XCTAssertTrue(row2.y >= y && row2.y + row2.height <= y + layout.cellHeight)
  }

  func testLargeMosaicsNumberEveryFewColumnsAndFitTheMaximumWidth() {
    let kernel = Tensor(
      shape: Shape(3, 3, 64, 64), storage: (0..<(9 * 64 * 64)).map { Float($0 % 17) - 8 })
    var weights = WeightGrid(kernel: kernel, title: "conv2d_3: 64 filters 3x3x64")
    weights.maxWidth = 800
    let picture = weights.picture()
    XCTAssertLessThanOrEqual(picture.width, 800)
    assertLabelsApart(picture, "64×64 mosaic")
    let numbers = Set(picture.textBoxes.map(\.text))
    XCTAssertTrue(numbers.contains("0") && numbers.contains("60"), "\(numbers)")
    XCTAssertFalse(numbers.contains("63"), "not every column is numbered at this size")
    weights.maxWidth = nil
    XCTAssertEqual(weights.grid().layout().scale, 8, "without a limit: 24 px tiles")
    XCTAssertEqual(WeightGrid(kernel: kernel, title: "").maxWidth, Grid.defaultMaxWidth)
  }

  func testNumberStepsAreOneTwoFiveTimesPowersOfTen() {
    XCTAssertEqual(Grid.numberStep(pitch: 30, size: 11, gap: 6), 1)
    XCTAssertEqual(Grid.numberStep(pitch: 10, size: 11, gap: 6), 2)
    XCTAssertEqual(Grid.numberStep(pitch: 8, size: 11, gap: 6), 5)
    XCTAssertEqual(Grid.numberStep(pitch: 3, size: 11, gap: 6), 10)
    XCTAssertEqual(Grid.numberStep(pitch: 1, size: 17, gap: 6), 50)
  }
}

final class FeatureMapPictureTests: XCTestCase {
  func maps(_ count: Int, side: Int) -> Tensor {
    Tensor(
      shape: Shape(1, count, side, side),
      storage: (0..<(count * side * side)).map { Float(($0 * 7) % 23) / 23 })
  }

  func testColourBarNamesTheMapAndTheNormalisation() {
    let each = FeatureMaps.picture(maps(8, side: 6), title: "conv2d (Conv2D): 8 maps 6x6")
    assertLabelsApart(each, "each")
    let eachTexts = each.textBoxes.map(\.text)
    for text in ["viridis", "each map:", "min..max", "min", "max"] {
      XCTAssertTrue(eachTexts.contains(text), "\(text) in \(eachTexts)")
    }
    let global = FeatureMaps.picture(maps(8, side: 6), colorMap: .gray, normalization: .global)
    assertLabelsApart(global, "global")
    let globalTexts = global.textBoxes.map(\.text)
    XCTAssertTrue(globalTexts.contains("gray") && globalTexts.contains("all maps:"))
    XCTAssertTrue(globalTexts.contains("0.4"), "numbers on a shared range: \(globalTexts)")
    let fixed = FeatureMaps.picture(maps(8, side: 6), normalization: .fixed(lo: -1, hi: 1))
    XCTAssertTrue(fixed.textBoxes.map(\.text).contains("fixed range"))
  }

  func testTheBarIsDrawnInTheGridsColourMap() {
    let picture = FeatureMaps.picture(maps(4, side: 6))
    let bar = FeatureMaps.colorBar(colorMap: .viridis, normalization: .each, range: nil)
    let maxBox = picture.textBoxes.first { $0.text == "max" }!
    // The strip's top row is the map's top colour, left of the "max" label.
    let stripX = maxBox.x - 5 - bar.thickness / 2
    XCTAssertEqual(
      ImageSamples.pixel(picture.image, stripX, maxBox.y + 3), ColorMap.viridis.color(at: 1))
  }

  func testMaximumWidthShrinksLargeGrids() {
    let many = maps(64, side: 26)
    let unlimited = FeatureMaps.grid(many)
    XCTAssertGreaterThan(unlimited.size().width, 800)
    let limited = FeatureMaps.grid(many, maxWidth: 500)
    XCTAssertLessThanOrEqual(limited.size().width, 500)
    XCTAssertLessThanOrEqual(FeatureMaps.picture(many, maxWidth: 500).width, 500)
    let photoSized = FeatureMaps.grid(maps(16, side: 300), maxWidth: 600)
    XCTAssertLessThanOrEqual(photoSized.size().width, 600)
    XCTAssertLessThan(photoSized.tiles[0].width, 150, "photo-sized maps averaged down")
  }

  func testOverlayOfASmallPhotoIsEnlarged() {
    let photo = Image(
      width: 20, height: 10, layout: .gray, samples: Array(repeating: 0, count: 200))
    // A 1×2 map: left half strong (1), right half weak (0).
    let maps = Tensor(shape: Shape(1, 1, 1, 2), storage: [1, 0])
    let image = FeatureMaps.overlay(photo: photo, maps: maps, channel: 0, minimumSide: 100)
    XCTAssertEqual(image.width, 100, "enlarged 5 times")
    XCTAssertEqual(image.height, 50)
    let strong = RGB.black.mixed(with: ColorMap.viridis.color(at: 1), amount: 0.85)
    let weak = RGB.black.mixed(with: ColorMap.viridis.color(at: 0), amount: 0.15)
    XCTAssertEqual(ImageSamples.pixel(image, 49, 49), strong)
    XCTAssertEqual(ImageSamples.pixel(image, 50, 0), weak)
    let large = Image(
      width: 300, height: 10, layout: .gray, samples: Array(repeating: 0, count: 3000))
    XCTAssertEqual(FeatureMaps.overlay(photo: large, maps: maps, channel: 0).width, 300)
  }

  func testSnapshotTitlesExplainThemselves() {
    let kernel = Tensor(shape: Shape(3, 3, 3, 4), storage: (0..<108).map { Float($0) / 50 - 1 })
    let pictures = snapshotPictures(kernel: kernel, maps: maps(4, side: 8), epoch: 2)
    for picture in [pictures.filters, pictures.featureMaps] {
      assertLabelsApart(picture, "snapshot")
      XCTAssertFalse(
        picture.textBoxes.contains { $0.text.lowercased().contains("probe") },
        "no insiders' words")
    }
    XCTAssertTrue(
      pictures.featureMaps.textBoxes.map(\.text).joined(separator: " ")
        .contains("one fixed training image"))
  }
}
