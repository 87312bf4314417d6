import XCTest

@testable import Visualization

final class FontAndCanvasTests: XCTestCase {
  func testGlyphBitsOfKnownCharacters() {
    // "1": .#. column stroke with a flag and a foot.
    let one = ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###.", ".....", "....."]
    for (y, row) in one.enumerated() {
      for (x, pixel) in row.enumerated() {
        XCTAssertEqual(BitmapFont.isSet("1", x: x, y: y), pixel == "#", "pixel (\(x), \(y)) of 1")
      }
    }
    XCTAssertEqual(BitmapFont.rows(of: "L"), [16, 16, 16, 16, 16, 16, 31, 0, 0])
    XCTAssertEqual(BitmapFont.rows(of: " "), Array(repeating: 0, count: 9))
  }

  func testEveryPrintableCharacterHasAGlyphAndOthersFallBack() {
    XCTAssertEqual(BitmapFont.table.count, 95)
    XCTAssertTrue(BitmapFont.table.allSatisfy { $0.count == 9 && $0.allSatisfy { $0 < 32 } })
    XCTAssertEqual(BitmapFont.rows(of: "é"), BitmapFont.rows(of: "?"))
    XCTAssertEqual(BitmapFont.rows(of: "\u{2212}"), BitmapFont.rows(of: "-"))
    XCTAssertEqual(BitmapFont.width(of: "abc"), 17)
    XCTAssertEqual(BitmapFont.width(of: ""), 0)
  }

  func testTextIsDrawnAtItsPositionAndScale() {
    var canvas = Canvas(width: 20, height: 20, background: .white)
    canvas.text("L", x: 3, y: 2, .black, scale: 2)
    XCTAssertEqual(canvas[3, 2], .black, "top of the L's stem")
    XCTAssertEqual(canvas[4, 3], .black, "scale 2 fills a 2×2 block")
    XCTAssertEqual(canvas[5, 2], .white, "right of the stem")
    XCTAssertEqual(canvas[3 + 8, 2 + 12], .black, "right end of the foot")
    XCTAssertEqual(canvas[3 + 10, 2 + 12], .white, "past the foot")
  }

  func testLinesIncludeBothEndsAndClipAtTheEdges() {
    var canvas = Canvas(width: 10, height: 10)
    canvas.line(from: (1, 1), to: (8, 5), .black)
    XCTAssertEqual(canvas[1, 1], .black)
    XCTAssertEqual(canvas[8, 5], .black)
    canvas.line(from: (-5, 9), to: (20, 9), .black)
    XCTAssertEqual((0..<10).filter { canvas[$0, 9] == .black }.count, 10)
  }

  func testDrawingAnImageScalesAndBlendsAlpha() {
    var canvas = Canvas(width: 6, height: 6, background: .white)
    let image = ImageSamples.rgba([(255, 0, 0, 255), (0, 0, 255, 0)], width: 2, height: 1)
    canvas.draw(image, x: 1, y: 1, scale: 2)
    XCTAssertEqual(canvas[1, 1], RGB(255, 0, 0))
    XCTAssertEqual(canvas[2, 2], RGB(255, 0, 0))
    XCTAssertEqual(canvas[3, 1], .white, "a transparent pixel leaves the canvas")
    XCTAssertEqual(canvas.image.samples8.count, 6 * 6 * 3)
  }
}
