import ImageCodecs
import XCTest

@testable import Visualization

/// The embedding picture: dots in their class's colour at their data
/// positions, a legend square per class, thumbnails framed in the class's
/// colour and left out where they would overlap.
final class ScatterPlotTests: XCTestCase {
  func makePlot() -> ScatterPlot {
    ScatterPlot(
      title: "map", xLabel: "x", yLabel: "y",
      points: [(0, 0), (10, 10), (5, 2), (5.1, 2.1)], labels: [0, 1, 2, 2],
      classNames: ["zero", "one", "two"])
  }

  func testDotsHaveTheirClassColourAtTheirPixel() {
    let plot = makePlot()
    let image = plot.render()
    let frame = plot.linePlot()
    for (point, label) in zip(plot.points, plot.labels) {
      let p = frame.pixel(x: point.x, y: point.y)
      XCTAssertEqual(ImageSamples.pixel(image, p.x, p.y), ScatterPlot.color(ofClass: label))
    }
    XCTAssertEqual(ScatterPlot.color(ofClass: 10), ScatterPlot.color(ofClass: 0))
    XCTAssertEqual(frame.series.map(\.name), ["zero", "one", "two"])
    XCTAssertTrue(frame.series.allSatisfy(\.isScatter))
    // The legend's square for class 1 (second row).
    let (lx, ly) = frame.legendOrigin()
    let row = ly + 6 + 1 * (BitmapFont.lineHeight + 4)
    XCTAssertEqual(ImageSamples.pixel(image, lx + 17, row + 3), ScatterPlot.color(ofClass: 1))
  }

  func testThumbnailsAreFramedAndNeverOverlap() {
    var plot = makePlot()
    let white = Image(width: 6, height: 6, layout: .gray, samples: Array(repeating: 255, count: 36))
    plot.thumbnails = Array(repeating: white, count: 4)
    let image = plot.render()
    let frame = plot.linePlot()
    // Point 2's thumbnail: white inside, a frame of class 2's colour.
    let p = frame.pixel(x: 5, y: 2)
    let (left, top) = (p.x - 4, p.y - 4)
    XCTAssertEqual(ImageSamples.pixel(image, left, top), ScatterPlot.color(ofClass: 2))
    XCTAssertEqual(ImageSamples.pixel(image, left + 1, top + 1), .white)
    XCTAssertEqual(ImageSamples.pixel(image, left + 6, top + 6), .white)
    // Point 3 sits a pixel or two away: its thumbnail is left out, so
    // point 2's frame is whole on its right edge.
    for y in top..<(top + 8) {
      XCTAssertEqual(ImageSamples.pixel(image, left + 7, y), ScatterPlot.color(ofClass: 2))
    }
  }
}
