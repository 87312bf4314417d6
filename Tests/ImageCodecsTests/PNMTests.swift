import Foundation
import XCTest

@testable import ImageCodecs

/// Netpbm files: every kind decodes as Netpbm's own `pnmtopng` stores it
/// (Fixtures/make_pnm.sh), encoding writes exact binary PGM/PPM, and
/// damaged headers and rasters fail with one clear error.
final class PNMTests: XCTestCase {
  func testEveryKindDecodesAsNetpbmsOwnPNG() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.path("pnm"))
      .filter { !$0.hasSuffix(".png") }.sorted()
    XCTAssertEqual(names.count, 13)
    for name in names {
      let image = try ImageFile.read(Fixtures.path("pnm/" + name))
      let stem = (name as NSString).deletingPathExtension
      let reference = try ImageFile.read(Fixtures.path("pnm/" + stem + ".png"))
      XCTAssertEqual(image, reference, name)
      XCTAssertEqual([image.width, image.height], [37, 23], name)
    }
    let deep = try ImageFile.read(Fixtures.path("pnm/p6-1000.ppm"))
    XCTAssertEqual(deep.bitDepth, .sixteen, "maxval 1000 keeps more than 8 bits")
    XCTAssertEqual(try ImageFile.read(Fixtures.path("pnm/p5-100.pgm")).bitDepth, .eight)
    XCTAssertEqual(Set(try ImageFile.read(Fixtures.path("pnm/p4.pbm")).samples8), [0, 255])
  }

  func testTheFormatComesFromTheBytes() throws {
    let bytes = try Fixtures.bytes("pnm/p6.ppm")
    XCTAssertEqual(ImageFile.sniff(bytes), .pnm)
    XCTAssertEqual(ImageFile.sniff(Array("P7\n".utf8)), nil, "PAM is not read")
    XCTAssertEqual(ImageFile.sniff(Array("P6x".utf8)), nil)
    XCTAssertEqual(ImageFile.sniff(Array("P6#c\n1 1 255\n".utf8)), .pnm)
    XCTAssertEqual(ImageFormat(pathExtensionOf: "a/b.PGM"), .pnm)
    XCTAssertEqual(ImageFormat(pathExtensionOf: "b.pbm"), nil, "bitmaps are read, not written")
  }

  func testEncodingWritesBinaryGrayAndColour() throws {
    let rgb = Image(width: 2, height: 1, layout: .rgb, samples: [1, 2, 3, 250, 251, 252])
    XCTAssertEqual(
      try ImageFile.encode(rgb, as: .pnm), Array("P6\n2 1\n255\n".utf8) + [1, 2, 3, 250, 251, 252])
    let gray16 = Image(width: 1, height: 2, layout: .gray, samples16: [0x0102, 0xFFFE])
    XCTAssertEqual(
      try ImageFile.encode(gray16, as: .pnm), Array("P5\n1 2\n65535\n".utf8) + [1, 2, 0xFF, 0xFE])
    let rgba = Image(width: 1, height: 1, layout: .rgba, samples: [9, 8, 7, 6])
    XCTAssertEqual(try ImageFile.encode(rgba, as: .pnm), Array("P6\n1 1\n255\n".utf8) + [9, 8, 7])
    let grayAlpha16 = Image(width: 2, height: 1, layout: .grayAlpha, samples16: [5, 6, 7, 8])
    XCTAssertEqual(
      try ImageFile.encode(grayAlpha16, as: .pnm), Array("P5\n2 1\n65535\n".utf8) + [0, 5, 0, 7])
  }

  func testRoundTripsKeepEveryBit() throws {
    for name in ["p6.ppm", "p5.pgm", "p6-65535.ppm", "p5-65535.pgm", "p4.pbm"] {
      let image = try ImageFile.read(Fixtures.path("pnm/" + name))
      let encoded = try ImageFile.encode(image, as: .pnm)
      XCTAssertEqual(try ImageFile.decode(encoded, name: name), image, name)
    }
  }

  /// The streaming writer writes the bytes `ImageFile.encode` writes, row
  /// batch by row batch, alpha and 16 bits included.
  func testTheRowWriterWritesTheEncodersBytes() throws {
    for layout in Image.Layout.allCases {
      for sixteen in [false, true] {
        let count = 5 * 4 * layout.channels
        let image =
          sixteen
          ? Image(
            width: 5, height: 4, layout: layout,
            samples16: (0..<count).map { UInt16($0 * 977 % 65536) })
          : Image(
            width: 5, height: 4, layout: layout, samples: (0..<count).map { UInt8($0 * 7 % 256) })
        let writer = try ImageRowWriter(
          format: .pnm, width: 5, height: 4, layout: layout, bitDepth: image.bitDepth,
          options: .default)
        var bytes: [UInt8] = []
        let rowBytes = writer.rowBytes
        let write = { (raw: UnsafeRawBufferPointer) in
          try writer.write(rows: 1, from: raw.baseAddress!)
          try writer.write(rows: 3, from: raw.baseAddress! + rowBytes)
        }
        if sixteen {
          try image.samples16.withUnsafeBytes(write)
        } else {
          try image.samples8.withUnsafeBytes(write)
        }
        try writer.finish()
        writer.drain { bytes += $0 }
        XCTAssertEqual(bytes, try ImageFile.encode(image, as: .pnm), "\(layout) \(sixteen)")
      }
    }
  }

  private func decodeError(_ text: String, _ raster: [UInt8] = []) -> CodecError? {
    do {
      _ = try ImageFile.decode(Array(text.utf8) + raster, name: "bad.pnm")
      return nil
    } catch {
      return error
    }
  }

  func testDamagedFilesFailWithOneClearError() {
    let corrupt = { (message: String) in CodecError.corrupt("bad.pnm", .pnm, message: message) }
    XCTAssertEqual(
      decodeError("P6\n3 2\n255\n", [UInt8](repeating: 1, count: 17)),
      .truncated("bad.pnm", .pnm))
    XCTAssertEqual(decodeError("P6\n3 2\n255"), .truncated("bad.pnm", .pnm))
    XCTAssertEqual(decodeError("P6\n3 2\n25"), .truncated("bad.pnm", .pnm))
    XCTAssertEqual(decodeError("P3\n2 1\n255\n1 2 3 4 5"), .truncated("bad.pnm", .pnm))
    XCTAssertEqual(decodeError("P1\n9 1\n0 1 0 1"), .truncated("bad.pnm", .pnm))
    XCTAssertEqual(decodeError("P6\n3 2\n0\n"), corrupt("maxval 0 is outside 1...65535"))
    XCTAssertEqual(decodeError("P5\n3 2\n70000\n"), corrupt("maxval 70000 is outside 1...65535"))
    XCTAssertEqual(decodeError("P5\n3 x\n"), corrupt("expected the height, found byte 0x78"))
    XCTAssertEqual(decodeError("P6\n3 2\n255X"), corrupt("no whitespace after the header"))
    XCTAssertEqual(decodeError("P6\n99999999999 2\n255\n"), corrupt("width is too large"))
    XCTAssertEqual(
      decodeError("P2\n2 1\n100\n5 101\n"), corrupt("sample 101 exceeds the maxval 100"))
    XCTAssertEqual(
      decodeError("P5\n2 1\n100\n", [5, 200]), corrupt("sample 200 exceeds the maxval 100"))
    XCTAssertEqual(
      decodeError("P5\n1 1\n1000\n", [0x03, 0xE9]), corrupt("sample 1001 exceeds the maxval 1000"))
    XCTAssertEqual(decodeError("P1\n2 1\n0 2\n"), corrupt("expected 0 or 1, found byte 0x32"))
    XCTAssertEqual(decodeError("P5\n0 3\n255\n"), corrupt("image is 0×3, it has no pixels"))
    XCTAssertEqual(
      decodeError("P6\n100000 100000\n255\n"),
      .tooManyPixels(
        "bad.pnm", width: 100000, height: 100000, limit: DecodeOptions.defaultPixelLimit))
    XCTAssertEqual(
      decodeError("P6\n3 2\n255\n", [UInt8](repeating: 1, count: 18)), nil,
      "complete: the control case")
  }

  /// The streaming reader fails on a cut-short raster as the whole read does.
  func testTheRowReaderReportsATruncatedRaster() throws {
    let bytes = try Fixtures.bytes("pnm/p6-65535.ppm")
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "cut-\(UUID().uuidString).ppm"
    ).path
    try Data(bytes[..<(bytes.count - 100)]).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    XCTAssertThrowsError(try ImageFile.read(path)) {
      XCTAssertEqual($0 as? CodecError, .truncated(path, .pnm))
    }
    let reader = try ImageRowReader(path: path, options: .default, gray: false)
    var row = [UInt8](repeating: 0, count: reader.rowBytes * reader.height)
    XCTAssertThrowsError(
      try row.withUnsafeMutableBytes { try reader.read(rows: reader.height, into: $0.baseAddress!) }
    ) { XCTAssertEqual($0 as? CodecError, .truncated(path, .pnm)) }
  }
}
