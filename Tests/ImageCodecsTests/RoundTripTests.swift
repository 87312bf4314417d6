import Files
import XCTest

@testable import ImageCodecs

/// Encode → decode gives the image back (exactly for PNG, closely for JPEG),
/// and writing is atomic.
final class RoundTripTests: XCTestCase {
  /// A deterministic image with every channel varying independently.
  static func pattern(width: Int, height: Int, layout: Image.Layout) -> Image {
    var samples: [UInt8] = []
    for y in 0..<height {
      for x in 0..<width {
        for c in 0..<layout.channels { samples.append(UInt8((x * 7 + y * 13 + c * 71) & 0xFF)) }
      }
    }
    return Image(width: width, height: height, layout: layout, samples: samples)
  }

  static func pattern16(width: Int, height: Int, layout: Image.Layout) -> Image {
    var samples: [UInt16] = []
    for y in 0..<height {
      for x in 0..<width {
        for c in 0..<layout.channels {
          samples.append(UInt16((x * 2_311 + y * 977 + c * 15_013) & 0xFFFF))
        }
      }
    }
    return Image(width: width, height: height, layout: layout, samples16: samples)
  }

  func testPNGRoundTripIsExactForEveryLayoutAndDepth() throws {
    for layout in Image.Layout.allCases {
      for image in [
        Self.pattern(width: 19, height: 7, layout: layout),
        Self.pattern16(width: 5, height: 11, layout: layout),
      ] {
        let bytes = try ImageFile.encode(image, as: .png)
        XCTAssertEqual(ImageFile.sniff(bytes), .png)
        XCTAssertEqual(try ImageFile.decode(bytes, name: "rt.png"), image, "\(layout)")
      }
    }
  }

  func testPNGCompressionLevelTradesSizeNotPixels() throws {
    let image = Self.pattern(width: 64, height: 64, layout: .rgb)
    let stored = try ImageFile.encode(
      image, as: .png, options: EncodeOptions(pngCompressionLevel: 0))
    let small = try ImageFile.encode(
      image, as: .png, options: EncodeOptions(pngCompressionLevel: 9))
    XCTAssertGreaterThan(stored.count, 64 * 64 * 3)
    XCTAssertLessThan(small.count, stored.count / 4)
    XCTAssertEqual(try ImageFile.decode(stored, name: "a"), image)
    XCTAssertEqual(try ImageFile.decode(small, name: "b"), image)
  }

  func testWithEncodedLendsTheSameBytesAsEncode() throws {
    let image = Self.pattern(width: 33, height: 17, layout: .rgba)
    for format in [ImageFormat.png, .jpeg] {
      let options = EncodeOptions(quality: 80)
      let lent = try ImageFile.withEncoded(image, as: format, options: options) { Array($0) }
      XCTAssertEqual(lent, try ImageFile.encode(image, as: format, options: options), "\(format)")
    }
    struct Stop: Error {}
    XCTAssertThrowsError(
      try ImageFile.withEncoded(image, as: .png, options: .default) { _ in throw Stop() }
    ) { XCTAssertTrue($0 is Stop) }
  }

  func testJPEGRoundTripIsClose() throws {
    // Smooth content: JPEG at quality 95 keeps it within a few levels.
    var samples: [UInt8] = []
    for y in 0..<32 {
      for x in 0..<48 { samples += [UInt8(x * 5), UInt8(y * 7), UInt8(128 + (x - y))] }
    }
    let image = Image(width: 48, height: 32, layout: .rgb, samples: samples)
    let decoded = try ImageFile.decode(ImageFile.encode(image, as: .jpeg, quality: 95), name: "rt")
    XCTAssertEqual(decoded.layout, .rgb)
    XCTAssertEqual([decoded.width, decoded.height], [48, 32])
    let diffs = zip(decoded.samples8, samples).map { abs(Int($0) - Int($1)) }
    XCTAssertLessThanOrEqual(diffs.max() ?? 0, 12)
    XCTAssertLessThan(Double(diffs.reduce(0, +)) / Double(diffs.count), 2.0)
  }

  func testJPEGQualityChangesSizeAndIsChecked() throws {
    let image = Self.pattern(width: 64, height: 64, layout: .rgb)
    let low = try ImageFile.encode(image, as: .jpeg, quality: 10)
    let high = try ImageFile.encode(image, as: .jpeg, quality: 100)
    XCTAssertLessThan(low.count, high.count)
    XCTAssertEqual(
      jpegEncodeError(image, quality: 0),
      .invalidQuality(0))
    XCTAssertEqual(
      jpegEncodeError(image, quality: 101),
      .invalidQuality(101))
  }

  func testJPEGDropsAlphaAndStoresGrayAsGray() throws {
    let rgba = Self.pattern(width: 16, height: 16, layout: .rgba)
    let fromRGBA = try ImageFile.decode(ImageFile.encode(rgba, as: .jpeg, quality: 90), name: "a")
    let fromRGB = try ImageFile.decode(
      ImageFile.encode(rgba.converted(to: .rgb), as: .jpeg, quality: 90), name: "b")
    XCTAssertEqual(fromRGBA, fromRGB)
    let grayAlpha = Self.pattern(width: 16, height: 16, layout: .grayAlpha)
    let gray = try ImageFile.decode(ImageFile.encode(grayAlpha, as: .jpeg, quality: 90), name: "g")
    XCTAssertEqual(gray.layout, .gray)
    let sixteen = Self.pattern16(width: 16, height: 16, layout: .rgb)
    XCTAssertEqual(
      try ImageFile.encode(sixteen, as: .jpeg, quality: 90),
      try ImageFile.encode(sixteen.to8Bit(), as: .jpeg, quality: 90))
  }

  func testWriteChoosesFormatByExtension() throws {
    let folder = try Fixtures.temporaryFolder(self)
    let image = Self.pattern(width: 8, height: 8, layout: .rgb)
    for (name, format) in [
      ("a.png", ImageFormat.png), ("b.PNG", .png), ("c.jpg", .jpeg),
      ("d.JPEG", .jpeg), ("e.Jpg", .jpeg),
    ] {
      try ImageFile.write(image, to: folder + "/" + name)
      let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
      XCTAssertEqual(ImageFile.sniff(bytes), format, name)
    }
    XCTAssertEqual(try ImageFile.read(folder + "/a.png"), image)
    for name in ["f.gif", "g", "h.png.txt", ".png"] {
      let path = folder + "/" + name
      XCTAssertEqual(
        writeError(image, to: path),
        .unsupportedExtension(path))
      XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
  }

  func testFailedWriteThrowsAndLeavesNoFile() throws {
    let folder = try Fixtures.temporaryFolder(self)
    let image = Self.pattern(width: 8, height: 8, layout: .gray)
    let missing = folder + "/no-such-folder/out.png"
    let error = writeError(image, to: missing)
    XCTAssertEqual(error, .file(.cannotCreate(path: missing, reason: "No such file or directory")))
    XCTAssertEqual(error?.description, "\(missing): cannot create file: No such file or directory")
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/no-such-folder"))
    // A directory in the way of the destination is refused before anything
    // is written, and no temporary file is left behind.
    let blocked = folder + "/blocked.png"
    try FileManager.default.createDirectory(
      atPath: blocked + "/inside", withIntermediateDirectories: true)
    XCTAssertEqual(
      writeError(image, to: blocked), .file(.notReplaceable(path: blocked, kind: .directory)))
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["blocked.png"])
  }

  func testWriteIntoUnwritableFolderThrows() throws {
    let image = Self.pattern(width: 8, height: 8, layout: .gray)
    // sysfs refuses new files even to root.
    let system = "/sys/convviz-codec-test.png"
    guard case .file(.cannotCreate(system, _))? = writeError(image, to: system) else {
      return XCTFail("expected cannotCreate for \(system)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: system))
    guard getuid() != 0 else { return }  // root writes into read-only folders
    let folder = try Fixtures.temporaryFolder(self)
    try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: folder)
    defer {
      try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder)
    }
    let path = folder + "/out.png"
    XCTAssertEqual(
      writeError(image, to: path), .file(.cannotCreate(path: path, reason: "Permission denied")))
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [])
  }

  func testWriteReplacesAnExistingFile() throws {
    let folder = try Fixtures.temporaryFolder(self)
    let path = folder + "/out.png"
    try ImageFile.write(Self.pattern(width: 4, height: 4, layout: .gray), to: path)
    let second = Self.pattern16(width: 6, height: 3, layout: .rgba)
    try ImageFile.write(second, to: path)
    XCTAssertEqual(try ImageFile.read(path), second)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["out.png"])
  }
}
