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
          XCTAssertEqual(
            image.oriented(orientation), image.orientedReference(orientation),
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

  /// A PNG with an eXIf chunk (a TIFF header and one IFD0 entry) inserted
  /// after IHDR, optionally behind JPEG's "Exif\0\0" prefix.
  static func pngWithEXIF(
    _ png: [UInt8], orientation: Int, bigEndian: Bool, prefix: Bool
  )
    -> [UInt8]
  {
    func u16(_ v: Int) -> [UInt8] {
      bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)]
    }
    func u32(_ v: Int) -> [UInt8] {
      bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16)
    }
    var tiff: [UInt8] = bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]
    tiff += u16(42) + u32(8) + u16(1)
    tiff += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0) + u32(0)
    let data = (prefix ? [0x45, 0x78, 0x69, 0x66, 0, 0] : []) + tiff
    let body = Array("eXIf".utf8) + data
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in body {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    crc ^= 0xFFFF_FFFF
    let be32 = { (v: UInt32) in [24, 16, 8, 0].map { UInt8((v >> $0) & 0xFF) } }
    let chunk = be32(UInt32(data.count)) + body + be32(crc)
    let afterIHDR = 8 + 25
    return Array(png[..<afterIHDR]) + chunk + Array(png[afterIHDR...])
  }

  func testPNGeXIfOrientationIsAppliedLikeJPEGs() throws {
    let stored = RoundTripTests.pattern(width: 5, height: 3, layout: .rgb)
    let png = try ImageFile.encode(stored, as: .png)
    for orientation in EXIFOrientation.allCases {
      for (bigEndian, prefix) in [(true, false), (false, false), (true, true)] {
        let bytes = Self.pngWithEXIF(
          png, orientation: orientation.rawValue, bigEndian: bigEndian, prefix: prefix)
        let label = "\(orientation) bigEndian \(bigEndian) prefix \(prefix)"
        let parsed = bytes.withUnsafeBufferPointer { EXIFOrientation(png: $0) }
        XCTAssertEqual(parsed, orientation, label)
        let upright = try ImageFile.decode(bytes, name: "o.png")
        XCTAssertEqual(upright, stored.oriented(orientation), label)
        let kept = try ImageFile.decode(
          bytes, name: "o.png", options: DecodeOptions(appliesEXIFOrientation: false))
        XCTAssertEqual(kept, stored, label)
      }
    }
    XCTAssertNil(png.withUnsafeBufferPointer { EXIFOrientation(png: $0) }, "no eXIf chunk")
    var broken = Self.pngWithEXIF(png, orientation: 6, bigEndian: true, prefix: false)
    broken[8 + 25 + 8 + 3] = 0  // TIFF magic 42 spoiled: the chunk is ignored, not an error
    XCTAssertNil(broken.withUnsafeBufferPointer { EXIFOrientation(png: $0) })
  }
}
