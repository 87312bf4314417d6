import ImageCodecs
import ModelFormats
import Tensors
import XCTest

@testable import Visualization

/// Labels never overlap: every picture's text boxes are checked pairwise and
/// against the image's edges.
func assertLabelsApart(
  _ picture: Picture, _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
  for (a, b) in TextBox.overlaps(in: picture.textBoxes) {
    XCTFail("\(message): \(a) overlaps \(b)", file: file, line: line)
  }
  for box in picture.textBoxes where !box.isInside(width: picture.width, height: picture.height) {
    XCTFail(
      "\(message): \(box) leaves the \(picture.width)×\(picture.height) image", file: file,
      line: line)
  }
}

enum ClassNames {
  static let cifar10 = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
  ]
  static let long = [
    "a rather long class name", "Egyptian cat", "x", "tabby, tabby cat",
    "the longest class name of them all, with commas",
  ]

  /// Counts with one to four digits, so cells hold numbers of every width.
  static func counts(_ n: Int) -> [[Int]] {
    (0..<n).map { t in (0..<n).map { p in t == p ? 1000 + 37 * t : (t * 7 + p * 3) % 13 } }
  }
}

final class ConfusionMatrixLabelTests: XCTestCase {
  func testCIFAR10NamesStandUprightAndNeverOverlap() {
    let plot = ConfusionMatrixPlot(
      counts: ClassNames.counts(10), classNames: ClassNames.cifar10)
    let picture = plot.picture()
    assertLabelsApart(picture, "CIFAR-10")
    let g = plot.geometry()
    XCTAssertTrue(g.verticalColumnNames, "\"automobile\" is wider than a cell")
    for (column, name) in ClassNames.cifar10.enumerated() {
      let boxes = picture.textBoxes.filter { $0.text == name }
      XCTAssertEqual(boxes.count, 2, "\(name) names a row and a column")
      let upright = boxes.filter(\.isVertical)
      XCTAssertEqual(upright.count, 1, name)
      guard let box = upright.first else { continue }
      XCTAssertEqual(box.height, BitmapFont.width(of: name), "the whole name, not cut")
      XCTAssertGreaterThanOrEqual(box.x, g.left + column * g.cell, "inside its column")
      XCTAssertLessThanOrEqual(box.x + box.width, g.left + (column + 1) * g.cell)
      XCTAssertLessThan(box.y + box.height, g.top, "above the matrix")
    }
    // The label strip is as tall as the longest name, no taller.
    let longest = BitmapFont.width(of: "automobile")
    let strip = g.top - (8 + 2 * BitmapFont.glyphHeight + 8 + BitmapFont.glyphHeight)
    XCTAssertEqual(strip, longest + 2 * ConfusionMatrixPlot.spacing)
  }

  func testLongNamesAndTinyMatricesStayApartAndInside() {
    for n in 1...ClassNames.long.count {
      let names = Array(ClassNames.long.prefix(n))
      let plot = ConfusionMatrixPlot(counts: ClassNames.counts(n), classNames: names)
      assertLabelsApart(plot.picture(), "\(n) long names")
    }
    var titled = ConfusionMatrixPlot(counts: [[3]], classNames: ["a"])
    titled.title = "A title far wider than a one-class matrix"
    assertLabelsApart(titled.picture(), "wide title")
  }

  func testShortNamesStayHorizontal() {
    let names = (0..<10).map(String.init)
    let plot = ConfusionMatrixPlot(counts: ClassNames.counts(10), classNames: names)
    XCTAssertFalse(plot.geometry().verticalColumnNames)
    let picture = plot.picture()
    assertLabelsApart(picture, "digits")
    XCTAssertEqual(picture.textBoxes.filter(\.isVertical).map(\.text), ["true"])
  }

  func testUprightColumnNamesArePixelsOfTheRotatedGlyphs() {
    let plot = ConfusionMatrixPlot(counts: [[1, 0], [0, 1]], classNames: ["L", "longname"])
    let image = plot.render()
    let g = plot.geometry()
    // Column 0's "L" reads upwards: the stem (glyph column 0, rows 0…6)
    // is a horizontal run at the box's bottom row, the foot (glyph row 6)
    // a vertical run at its right.
    let boxX = g.left + (g.cell - BitmapFont.glyphHeight) / 2
    let bottom = g.top - ConfusionMatrixPlot.spacing - 1
    for gy in 0...6 {
      XCTAssertEqual(
        ImageSamples.pixel(image, boxX + gy, bottom), ConfusionMatrixPlot.ink, "stem at \(gy)")
    }
    for gx in 0...4 {
      XCTAssertEqual(
        ImageSamples.pixel(image, boxX + 6, bottom - gx), ConfusionMatrixPlot.ink, "foot \(gx)")
    }
    XCTAssertEqual(ImageSamples.pixel(image, boxX + 2, bottom - 2), .white, "inside the L")
  }
}

final class CanvasTextTests: XCTestCase {
  func testTextReturnsAndRecordsItsBox() {
    var canvas = Canvas(width: 40, height: 40)
    let box = canvas.text("ab", x: 3, y: 4, .black, scale: 2)
    XCTAssertEqual(box, TextBox(text: "ab", x: 3, y: 4, width: 22, height: 18))
    let upright = canvas.verticalText("abc", x: 30, y: 1, .black)
    XCTAssertEqual(
      upright, TextBox(text: "abc", x: 30, y: 1, width: 9, height: 17, isVertical: true))
    XCTAssertEqual(canvas.textBoxes, [box, upright])
  }

  func testVerticalTextRotatesCounterClockwise() {
    var canvas = Canvas(width: 12, height: 8)
    canvas.verticalText("L", x: 1, y: 1, .black)
    // Glyph pixel (gx, gy) lands on (x + gy, y + 5 − 1 − gx).
    XCTAssertEqual((0..<12).filter { canvas[$0, 5] == .black }, Array(1...7), "stem")
    XCTAssertEqual((0..<8).filter { canvas[7, $0] == .black }, Array(1...5), "foot")
    XCTAssertEqual(canvas[8, 5], .white, "the descender rows are empty")
  }

  func testDrawingAPictureMovesItsBoxes() {
    var inner = Canvas(width: 20, height: 12)
    inner.text("x", x: 2, y: 1, .black)
    var outer = Canvas(width: 50, height: 50)
    outer.draw(inner.picture, x: 10, y: 20)
    XCTAssertEqual(outer.textBoxes, [TextBox(text: "x", x: 12, y: 21, width: 5, height: 9)])
  }

  func testWrapBreaksAtSpacesAndNeverCutsAWord() {
    XCTAssertEqual(BitmapFont.wrap("as automobile", width: 64), ["as", "automobile"])
    XCTAssertEqual(BitmapFont.wrap("as cat", width: 64), ["as cat"])
    XCTAssertEqual(BitmapFont.wrap("a b c d", width: 17), ["a b", "c d"])
    XCTAssertEqual(BitmapFont.wrap("unbreakable", width: 10), ["unbreakable"])
    XCTAssertEqual(BitmapFont.wrap("", width: 10), [""])
    XCTAssertEqual(BitmapFont.widestWord(of: "as automobile"), BitmapFont.width(of: "automobile"))
  }

  func testTitlesOfNeighboursInARowStayApart() {
    func titled(_ title: String, width: Int) -> Picture {
      Canvas.row([Picture(image: Canvas(width: width, height: 10).image)], title: title)
    }
    // Titles wider than their pictures end at the picture's right margin.
    let row = Canvas.row([
      titled("Random filters, seed 0", width: 20), titled("as colour", width: 20),
    ])
    assertLabelsApart(row, "titles")
    let titles = row.textBoxes.sorted { $0.x < $1.x }
    XCTAssertEqual(titles.map(\.text), ["Random filters, seed 0", "as colour"])
    XCTAssertGreaterThanOrEqual(
      titles[1].x - (titles[0].x + titles[0].width), 3 * 2 * BitmapFont.glyphHeight,
      "three letter heights between the titles")
    // Pictures without texts side by side keep the plain gap.
    let plain = Canvas.row(
      [
        Picture(image: Canvas(width: 5, height: 5).image),
        Picture(image: Canvas(width: 5, height: 5).image),
      ],
      gap: 3, margin: 0)
    XCTAssertEqual(plain.width, 13)
  }

  func testLongTitlesWrapWithinMaxWidth() {
    let title = "conv2d_3: 64 filters 3x3x64 (row = filter, column = input channel)"
    let picture = Canvas.row(
      [Picture(image: Canvas(width: 100, height: 10).image)], title: title,
      caption: "A caption that is also far longer than the picture it explains, by far.",
      maxWidth: 400)
    XCTAssertLessThanOrEqual(picture.width, 400)
    assertLabelsApart(picture, "wrapped title")
    XCTAssertEqual(
      picture.textBoxes.filter { $0.height == 2 * BitmapFont.glyphHeight }.map(\.text)
        .joined(separator: " "), title, "every word of the title, in order")
  }
}

final class PlotLabelTests: XCTestCase {
  func testAShortColourBarLeavesOutNumbersThatWouldTouch() {
    var bar = ColorBar(colorMap: .diverging, range: ValueRange(lo: -1, hi: 1))
    bar.caption = "weight"
    bar.length = 24
    let picture = bar.picture()
    assertLabelsApart(picture, "short bar")
    let numbers = picture.textBoxes.map(\.text).filter { $0 != "weight" }
    XCTAssertEqual(numbers, ["-1.0", "0.0", "1.0"], "every other tick keeps its number")
    bar.length = 200
    XCTAssertEqual(bar.picture().textBoxes.count, 1 + 5, "a long bar numbers every tick")
  }

  func testTrainingCurvesKeepTheirTextsApart() {
    for epochs in [1, 3, 12, 100] {
      let history = (1...epochs).map { (e: Int) -> EpochRecord in
        let fall = 1 / Double(e)
        return EpochRecord(
          epoch: e, loss: 2.3 * fall + 0.0123, accuracy: 1 - 0.9 * fall,
          validationLoss: 2.1 * fall + 0.05, validationAccuracy: 1 - 0.95 * fall, seconds: 1)
      }
      assertLabelsApart(TrainingCurves.lossPlot(history).picture(), "loss, \(epochs) epochs")
      assertLabelsApart(
        TrainingCurves.accuracyPlot(history).picture(), "accuracy, \(epochs) epochs")
    }
  }
}
