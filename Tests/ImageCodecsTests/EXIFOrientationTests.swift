import XCTest

@testable import ImageCodecs

final class EXIFOrientationTests: XCTestCase {
  func testEveryOrientationInBothByteOrdersIsAppliedByDefault() throws {
    // golden.tsv has the djpeg pixels turned as Pillow's exif_transpose turns
    // them; GoldenTests checks those hashes. Here: dimensions and the option.
    let stored = try ImageFile.read(Fixtures.path("jpeg/orientation-none.jpg"))
    XCTAssertEqual([stored.width, stored.height], [12, 8])
    for orientation in 1...8 {
      for order in ["le", "be"] {
        let path = Fixtures.path("jpeg/orientation-\(orientation)-\(order).jpg")
        let upright = try ImageFile.read(path)
        let expectedSize = orientation >= 5 ? [8, 12] : [12, 8]
        XCTAssertEqual([upright.width, upright.height], expectedSize, path)
        let kept = try ImageFile.read(
          path, options: DecodeOptions(appliesEXIFOrientation: false))
        XCTAssertEqual(kept, stored, path)
        let bytes = try Fixtures.bytes("jpeg/orientation-\(orientation)-\(order).jpg")
        let parsed = bytes.withUnsafeBufferPointer { EXIFOrientation(jpeg: $0) }
        XCTAssertEqual(parsed?.rawValue, orientation, path)
      }
    }
  }

  func testRightRotatesClockwise() throws {
    // Worked by hand on a 3×2 image: rows "a b c" / "d e f". Rotated 90°
    // clockwise: "d a" / "e b" / "f c".
    let image = Image(width: 3, height: 2, layout: .gray, samples: [1, 2, 3, 4, 5, 6])
    XCTAssertEqual(image.oriented(.right).samples8, [4, 1, 5, 2, 6, 3])
    XCTAssertEqual(image.oriented(.left).samples8, [3, 6, 2, 5, 1, 4])
    XCTAssertEqual(image.oriented(.down).samples8, [6, 5, 4, 3, 2, 1])
    XCTAssertEqual(image.oriented(.upMirrored).samples8, [3, 2, 1, 6, 5, 4])
    XCTAssertEqual(image.oriented(.downMirrored).samples8, [4, 5, 6, 1, 2, 3])
    XCTAssertEqual(image.oriented(.leftMirrored).samples8, [1, 4, 2, 5, 3, 6])
    XCTAssertEqual(image.oriented(.rightMirrored).samples8, [6, 3, 5, 2, 4, 1])
    let wide = Image(width: 1, height: 2, layout: .rgb, samples16: [1, 2, 3, 4, 5, 6])
    XCTAssertEqual(wide.oriented(.right).samples16, [4, 5, 6, 1, 2, 3])
  }

  func testOrientedMatchesReferenceOnOddSizes() {
    for (width, height) in [(1, 1), (1, 5), (7, 1), (5, 3), (4, 9)] {
      for layout in Image.Layout.allCases {
        let image = RoundTripTests.pattern(width: width, height: height, layout: layout)
        let wide = RoundTripTests.pattern16(width: width, height: height, layout: layout)
        for orientation in EXIFOrientation.allCases {
          XCTAssertEqual(image.oriented(orientation), image.orientedReference(orientation),
                         "\(width)×\(height) \(layout) \(orientation)")
          XCTAssertEqual(wide.oriented(orientation), wide.orientedReference(orientation))
        }
      }
    }
  }

  func testMalformedOrMissingEXIFIsIgnored() throws {
    let stored = try ImageFile.read(Fixtures.path("jpeg/orientation-none.jpg"))
    XCTAssertEqual(try ImageFile.read(Fixtures.path("jpeg/orientation-broken.jpg")), stored)
    for bytes: [UInt8] in [[], [0xFF, 0xD8], [0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 0x45]] {
      XCTAssertNil(bytes.withUnsafeBufferPointer { EXIFOrientation(jpeg: $0) })
    }
  }
}
