import ImageCodecs
import Tensors
import XCTest

@testable import Visualization

final class FeatureMapsTests: XCTestCase {
  func testTilesFollowChannelsAndStrongestIsTheLargestMean() {
    // Channel 0: all 1; channel 1: 0, 0, 0, 8 (mean 2); channel 2: -5.
    let maps = Tensor(shape: Shape(1, 3, 2, 2), storage: [1, 1, 1, 1, 0, 0, 0, 8, -5, -5, -5, -5])
    let tiles = FeatureMaps.tiles(maps)
    XCTAssertEqual(tiles.count, 3)
    XCTAssertEqual(tiles[1].planes[0], [0, 0, 0, 8])
    XCTAssertEqual(tiles[2].label, "2")
    XCTAssertEqual(FeatureMaps.strongestChannel(maps), 1)
  }

  func testGridUsesPerMapNormalisationAndViridis() {
    let maps = Tensor(shape: Shape(2, 1, 2), storage: [0, 1, 0, 100])
    let grid = FeatureMaps.grid(maps)
    let image = grid.render()
    let layout = grid.layout()
    let right0 = layout.origin(ofTile: 0)
    let right1 = layout.origin(ofTile: 1)
    XCTAssertEqual(
      ImageSamples.pixel(image, right0.x + layout.scale, right0.y), ColorMap.viridis.color(at: 1))
    XCTAssertEqual(
      ImageSamples.pixel(image, right1.x + layout.scale, right1.y), ColorMap.viridis.color(at: 1),
      "each map reaches the top of the colour map")
  }

  func testOverlayBlendsTheMapOverAGrayPhoto() {
    let photo = Image(width: 4, height: 2, layout: .rgb, samples: Array(repeating: 200, count: 24))
    // A 1×2 map: left half weak (0), right half strong (1).
    let maps = Tensor(shape: Shape(1, 1, 1, 2), storage: [0, 1])
    let image = FeatureMaps.overlay(photo: photo, maps: maps, channel: 0, minimumSide: 1)
    XCTAssertEqual(image.width, 4)
    XCTAssertEqual(
      ImageSamples.pixel(image, 0, 0),
      RGB(200, 200, 200).mixed(with: ColorMap.viridis.color(at: 0), amount: 0.15))
    XCTAssertEqual(
      ImageSamples.pixel(image, 3, 1),
      RGB(200, 200, 200).mixed(with: ColorMap.viridis.color(at: 1), amount: 0.85))
  }

  func testReportIsOneSelfContainedPage() {
    var report = HTMLReport(title: "Model <mnist>")
    report.table(header: ["layer", "params"], rows: [["conv2d", "320"]], numericColumns: [1])
    report.image(png: [0x89, 0x50, 0x4E, 0x47], alt: "filters", caption: "conv2d & co")
    let html = report.html()
    XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
    XCTAssertTrue(html.contains("<title>Model &lt;mnist&gt;</title>"))
    XCTAssertTrue(html.contains("<td class=\"num\">320</td>"))
    XCTAssertTrue(html.contains("src=\"data:image/png;base64,iVBORw==\""))
    XCTAssertTrue(html.contains("<figcaption>conv2d &amp; co</figcaption>"))
    XCTAssertFalse(html.contains("<script"))
    XCTAssertFalse(html.contains("http"), "no network references")
  }

  func testRowCompositionSizesToItsContent() {
    let a = Canvas(width: 10, height: 20, background: .black).image
    let b = Canvas(width: 5, height: 30, background: .black).image
    let row = Canvas.row([a, b], gap: 3, margin: 2)
    XCTAssertEqual(row.width, 2 + 10 + 3 + 5 + 2)
    XCTAssertEqual(row.height, 2 + 30 + 2)
    XCTAssertEqual(ImageSamples.pixel(row, 2, 2), .black)
    XCTAssertEqual(ImageSamples.pixel(row, 2, 2 + 25), .white, "under the shorter image")
  }
}

final class MisclassifiedExamplesTests: XCTestCase {
  func testOnlyWrongPredictionsAreShownGroupedByTrueClass() {
    // Four 1×2 gray images with values n/10, (n+1)/10.
    let images = Tensor(shape: Shape(4, 1, 1, 2), storage: [0, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4])
    let errors = MisclassifiedExamples.grids(
      images: images, labels: [0, 1, 1, 1], predicted: [0, 0, 1, 0], classNames: ["a", "b"],
      perClass: 1)
    XCTAssertEqual(errors.count, 1, "class a has no errors")
    XCTAssertEqual(errors[0].classIndex, 1)
    XCTAssertEqual(errors[0].errorCount, 2)
    XCTAssertEqual(errors[0].grid.tiles.count, 1, "limited to perClass")
    XCTAssertEqual(errors[0].grid.tiles[0].planes[0], [0.1, 0.2], "the first error, sample 1")
    XCTAssertEqual(errors[0].grid.tiles[0].label, "as a")
    XCTAssertEqual(errors[0].grid.normalization, .fixed(lo: 0, hi: 1))
  }
}
