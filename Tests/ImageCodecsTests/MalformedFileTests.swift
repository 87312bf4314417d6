import Files
import XCTest

@testable import ImageCodecs

/// Every broken input gets its own typed error that names the file; none
/// crashes (swift-png's one-test-per-malformed-file style).
final class MalformedFileTests: XCTestCase {
  private func fixtureError(_ name: String, options: DecodeOptions = .default) -> CodecError? {
    readError(Fixtures.path(name), options: options)
  }

  private func assertCorruptPNG(_ name: String, _ message: String, line: UInt = #line) {
    let path = Fixtures.path("pngsuite/" + name)
    XCTAssertEqual(
      fixtureError("pngsuite/" + name), .corrupt(path, .png, message: message),
      line: line)
  }

  func testPngSuiteCorruptFilesAreRejectedWithTheReason() throws {
    assertCorruptPNG("xc1n0g08.png", "IHDR: Invalid color type in IHDR")
    assertCorruptPNG("xc9n2c08.png", "IHDR: Invalid color type in IHDR")
    assertCorruptPNG("xd0n2c08.png", "IHDR: Invalid bit depth in IHDR")
    assertCorruptPNG("xd3n2c08.png", "IHDR: Invalid bit depth in IHDR")
    assertCorruptPNG("xd9n2c08.png", "IHDR: Invalid bit depth in IHDR")
    assertCorruptPNG("xcsn0g01.png", "IDAT: CRC error")
    assertCorruptPNG("xhdn0g08.png", "IHDR: CRC error")
    assertCorruptPNG("xdtn0g01.png", "IEND: out of place")
    assertCorruptPNG("xcrn0g04.png", "PNG file corrupted by ASCII conversion")
    assertCorruptPNG("xlfn0g04.png", "PNG file corrupted by ASCII conversion")
    assertCorruptPNG("xs7n0g01.png", "PNG file corrupted by ASCII conversion")
    for name in ["xs1n0g01.png", "xs2n0g01.png", "xs4n0g01.png"] {
      assertCorruptPNG(name, "bad signature: the first 8 bytes are not a PNG's")
    }
    let covered = 14
    XCTAssertEqual(try Fixtures.names(in: "pngsuite").filter { $0.hasPrefix("x") }.count, covered)
  }

  /// Regression (hostile input): libjpeg-turbo only warns about these, fills
  /// the rest of the image with gray and succeeds, so they decoded. They are
  /// errors now; leniently they decode (the intact rows as they are) and the
  /// warning is reported.
  func testCorruptJPEGDataIsAnErrorUnlessLenient() throws {
    let original = try ImageFile.read(Fixtures.path("jpeg/testorig.jpg"))
    let cases = [
      ("crafted/truncated-scan-eoi.jpg", 149, "Corrupt JPEG data: premature end of data segment"),
      ("crafted/more-rows.jpg", 298, "Corrupt JPEG data: premature end of data segment"),
    ]
    for (name, height, message) in cases {
      let path = Fixtures.path(name)
      XCTAssertEqual(fixtureError(name), .corruptData(path, .jpeg, message: message), name)
      XCTAssertEqual(
        fixtureError(name)?.description,
        "\(path): JPEG is corrupt: \(message); --lenient decodes it anyway, filling what is missing"
      )
      var warnings: [CodecWarning] = []
      let image = try ImageFile.read(path, options: DecodeOptions(lenient: true)) {
        warnings.append($0)
      }
      XCTAssertEqual(image.width, 227, name)
      XCTAssertEqual(image.height, height, name)
      XCTAssertEqual(warnings.map(\.message), [message], name)
      XCTAssertEqual(warnings.first?.path, path)
      let intactRows = 3 * 227 * 16
      XCTAssertEqual(image.samples8.prefix(intactRows), original.samples8.prefix(intactRows), name)
    }
    // Lenient or not, a file without its end is truncated, and PNG damage
    // (PngSuite's x*.png) is refused.
    let cut = Array(try Fixtures.bytes("jpeg/testorig.jpg").prefix(3000))
    let lenient = DecodeOptions(lenient: true)
    XCTAssertEqual(
      codecError({ () throws(CodecError) in
        _ = try ImageFile.decode(cut, name: "cut.jpg", options: lenient)
      }), .truncated("cut.jpg", .jpeg))
    for name in try Fixtures.names(in: "pngsuite") where name.hasPrefix("x") {
      XCTAssertNotNil(fixtureError("pngsuite/" + name, options: lenient), name)
    }
  }

  func testCRCErrorInAncillaryChunkIsAnError() throws {
    // libpng only warns about these by default; a flipped byte inside gAMA
    // (an ancillary chunk) must still reject the file.
    var bytes = try Fixtures.bytes("pngsuite/g03n0g16.png")
    let gama = try XCTUnwrap(find(Array("gAMA".utf8), in: bytes))
    bytes[gama + 5] ^= 0xFF
    XCTAssertEqual(
      decodeError(bytes, name: "g.png"),
      .corrupt("g.png", .png, message: "gAMA: CRC error"))
  }

  func testCRCErrorInChunkAfterImageDataIsAnError() throws {
    // Chunks after IDAT are only read by png_read_end; corrupt the IEND CRC.
    var bytes = try Fixtures.bytes("pngsuite/basn0g08.png")
    bytes[bytes.count - 1] ^= 0xFF
    XCTAssertEqual(
      decodeError(bytes, name: "e.png"),
      .corrupt("e.png", .png, message: "IEND: CRC error"))
  }

  func testTruncatedFilesAreRejectedAtEveryTenthOfTheirLength() throws {
    let files: [(String, ImageFormat)] = [
      ("pngsuite/basn2c08.png", .png), ("pngsuite/basi6a16.png", .png),
      ("jpeg/testorig.jpg", .jpeg), ("jpeg/testimgint.jpg", .jpeg),
      ("jpeg/testimgari.jpg", .jpeg), ("jpeg/gray.jpg", .jpeg), ("jpeg/cmyk.jpg", .jpeg),
    ]
    for (name, format) in files {
      let bytes = try Fixtures.bytes(name)
      for tenth in 1...9 {
        let cut = Array(bytes.prefix(bytes.count * tenth / 10))
        XCTAssertEqual(
          decodeError(cut, name: "cut"),
          .truncated("cut", format), "\(name) cut at \(tenth)0%")
      }
      // Only the end marker missing: still truncated.
      let noEnd = Array(bytes.dropLast(format == .png ? 4 : 2))
      XCTAssertEqual(
        decodeError(noEnd, name: "cut"),
        .truncated("cut", format), "\(name) without its end")
    }
  }

  func testTwelveBitJPEGGetsAClearError() {
    let path = Fixtures.path("jpeg/monkey12.jpg")
    let error = fixtureError("jpeg/monkey12.jpg")
    XCTAssertEqual(
      error,
      .unsupported(
        path, message: "12-bit JPEG is not supported by this libjpeg (8-bit samples only)"))
    XCTAssertEqual(
      error?.description,
      "\(path): unsupported image: 12-bit JPEG is not supported by this libjpeg "
        + "(8-bit samples only)")
  }

  func testEmptyGarbageDirectoryAndMissingFiles() throws {
    let folder = try Fixtures.temporaryFolder(self)
    let empty = folder + "/empty.png"
    let garbage = folder + "/garbage.png"
    XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
    XCTAssertTrue(
      FileManager.default.createFile(
        atPath: garbage, contents: Data("this is not an image, whatever its name says".utf8)))
    XCTAssertEqual(readError(empty), .emptyFile(empty))
    XCTAssertEqual(readError(garbage), .unknownFormat(garbage))
    XCTAssertEqual(readError(folder), .file(.notRegularFile(path: folder, kind: .directory)))
    let missing = folder + "/missing.png"
    XCTAssertEqual(readError(missing), .file(.notFound(path: missing)))
    XCTAssertEqual(
      readError(missing + "/x.png"),
      .file(.notFound(path: missing + "/x.png")))
    XCTAssertEqual(readError(missing)?.description, "\(missing): no such file")
    XCTAssertEqual(decodeError([], name: "none"), .emptyFile("none"))
    XCTAssertEqual(
      decodeError([0xFF], name: "one"),
      .unknownFormat("one"))
    XCTAssertEqual(
      CodecError.unknownFormat(garbage).description,
      "\(garbage): not a PNG, JPEG or PNM file (unrecognized content)")
  }

  func testUnopenableFileNamesTheReason() throws {
    // A symlink loop fails to open for everyone, root included.
    let folder = try Fixtures.temporaryFolder(self)
    let loop = folder + "/loop.png"
    try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
    XCTAssertEqual(
      readError(loop),
      .file(.cannotRead(path: loop, reason: "Too many levels of symbolic links")))
  }

  func testUnreadableFileNamesTheReason() throws {
    guard getuid() != 0 else { throw XCTSkip("root reads files whatever their mode") }
    let folder = try Fixtures.temporaryFolder(self)
    let path = folder + "/secret.png"
    XCTAssertTrue(
      FileManager.default.createFile(
        atPath: path, contents: Data(try Fixtures.bytes("pngsuite/basn0g08.png")),
        attributes: [.posixPermissions: 0]))
    XCTAssertEqual(
      readError(path),
      .file(.cannotRead(path: path, reason: "Permission denied")))
  }

  /// Regression (hostile input): an image argument that is a character
  /// device or a FIFO was read until memory ran out. Both are refused
  /// unread, and opening the FIFO does not wait for a writer.
  func testDevicesAndFIFOsAreRefusedUnread() throws {
    XCTAssertEqual(
      readError("/dev/zero"),
      .file(.notRegularFile(path: "/dev/zero", kind: .characterDevice)))
    let fifo = try Fixtures.temporaryFolder(self) + "/pipe.png"
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    XCTAssertEqual(readError(fifo), .file(.notRegularFile(path: fifo, kind: .fifo)))
    XCTAssertEqual(
      readError(fifo)?.description, "\(fifo): is a FIFO (named pipe), not a regular file")
  }

  /// The read is bounded by what an image within the pixel limit can need.
  func testFilesLargerThanThePixelLimitAllowsAreRefusedUnread() throws {
    let path = Fixtures.path("pngsuite/basn0g08.png")
    let size = try Fixtures.bytes("pngsuite/basn0g08.png").count
    var options = DecodeOptions.default
    options.pixelLimit = 1
    let limit = 16 + (64 << 20)
    XCTAssertEqual(options.maximumFileSize, limit)
    XCTAssertLessThan(size, limit)
    XCTAssertNoThrow(try ImageFile.read(path, options: DecodeOptions(pixelLimit: 32 * 32)))
    let big = try Fixtures.temporaryFolder(self) + "/big.png"
    XCTAssertTrue(FileManager.default.createFile(atPath: big, contents: Data(count: limit + 1)))
    XCTAssertEqual(
      readError(big, options: options), .fileTooLarge(big, bytes: limit + 1, limit: limit))
    XCTAssertEqual(DecodeOptions(pixelLimit: .max).maximumFileSize, .max)
  }

  func testFormatComesFromBytesNotExtension() throws {
    let folder = try Fixtures.temporaryFolder(self)
    let misnamed = folder + "/photo.png"
    let jpeg = try Fixtures.bytes("jpeg/testorig.jpg")
    XCTAssertTrue(FileManager.default.createFile(atPath: misnamed, contents: Data(jpeg)))
    XCTAssertEqual(
      try ImageFile.read(misnamed),
      try ImageFile.read(Fixtures.path("jpeg/testorig.jpg")))
    XCTAssertEqual(ImageFile.sniff(jpeg), .jpeg)
    XCTAssertEqual(ImageFile.sniff(try Fixtures.bytes("pngsuite/basn0g08.png")), .png)
    XCTAssertNil(ImageFile.sniff(Array("GIF89a".utf8)))
  }

  func testPixelLimitRefusesHugeHeadersBeforeDecoding() {
    // Both files are a few hundred bytes; decoding them would need gigabytes.
    let png = Fixtures.path("crafted/huge-20000x20000.png")
    XCTAssertEqual(
      fixtureError("crafted/huge-20000x20000.png"),
      .tooManyPixels(png, width: 20000, height: 20000, limit: 178_956_970))
    let jpeg = Fixtures.path("crafted/huge-65500x65500.jpg")
    XCTAssertEqual(
      fixtureError("crafted/huge-65500x65500.jpg"),
      .tooManyPixels(jpeg, width: 65500, height: 65500, limit: 178_956_970))
    XCTAssertEqual(
      CodecError.tooManyPixels("big.png", width: 20000, height: 20000, limit: 178_956_970)
        .description,
      "big.png: image is 20000×20000 = 400000000 pixels, more than the limit of 178956970; "
        + "raise it with --max-pixels if you trust the file")
  }

  func testPixelLimitOptionLowersAndRaisesTheLimit() throws {
    let path = Fixtures.path("pngsuite/basn0g08.png")
    XCTAssertEqual(
      fixtureError("pngsuite/basn0g08.png", options: DecodeOptions(pixelLimit: 1023)),
      .tooManyPixels(path, width: 32, height: 32, limit: 1023))
    XCTAssertNoThrow(try ImageFile.read(path, options: DecodeOptions(pixelLimit: 1024)))
    // Raised above 20000², the crafted header passes the check and the
    // missing image data is found instead.
    let huge = Fixtures.path("crafted/huge-20000x20000.png")
    let raised = DecodeOptions(pixelLimit: 400_000_000)
    XCTAssertEqual(
      fixtureError("crafted/huge-20000x20000.png", options: raised),
      .corrupt(huge, .png, message: "Not enough image data"))
  }

  func testProgressiveJPEGWithTooManyScansIsRefused() {
    // 600 copies of one scan: libjpeg would only warn and grind through all.
    // The repeated scan is itself corrupt data; leniently, the scan limit
    // still stops it.
    let path = Fixtures.path("crafted/many-scans.jpg")
    XCTAssertEqual(
      fixtureError("crafted/many-scans.jpg"),
      .corruptData(
        path, .jpeg,
        message: "Inconsistent progression sequence for component 0 coefficient 0"))
    XCTAssertEqual(
      fixtureError("crafted/many-scans.jpg", options: DecodeOptions(lenient: true)),
      .unsupported(
        path,
        message: "progressive JPEG with more than 500 scans "
          + "(would take very long to decode)"))
  }

  func testZeroWidthOrHeightIsAnError() {
    XCTAssertEqual(
      fixtureError("crafted/zero-width.png"),
      .corrupt(
        Fixtures.path("crafted/zero-width.png"), .png,
        message: "IHDR: Image width is zero in IHDR"))
    XCTAssertEqual(
      fixtureError("crafted/zero-height.jpg"),
      .corrupt(
        Fixtures.path("crafted/zero-height.jpg"), .jpeg,
        message: "Empty JPEG image (DNL not supported)"))
  }

  private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    return (0...(haystack.count - needle.count)).first {
      haystack[$0..<($0 + needle.count)].elementsEqual(needle)
    }
  }
}
