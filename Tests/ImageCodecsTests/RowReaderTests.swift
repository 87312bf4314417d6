import Foundation
import XCTest

@testable import ImageCodecs

/// `ImageRowReader` against `ImageFile.read`, the reference it streams: the
/// same samples for every fixture it accepts, the same error for every one
/// `ImageFile.read` refuses, and the whole-image path for what needs it.
final class RowReaderTests: XCTestCase {
  /// Reads every row of `path` (a few at a time), or nil when the reader
  /// sends the image to the whole-image path.
  private func streamed(_ path: String, gray: Bool = false) throws -> Image? {
    let reader = try ImageRowReader(path: path, options: .default, gray: gray)
    guard reader.wholeImageReason == nil else { return nil }
    var bytes = [UInt8](repeating: 0, count: reader.rowBytes * reader.height)
    var row = 0
    while row < reader.height {
      let count = min(7, reader.height - row)
      try bytes.withUnsafeMutableBytes { raw in
        try reader.read(rows: count, into: raw.baseAddress! + row * reader.rowBytes)
      }
      row += count
    }
    guard try reader.finish() else { return nil }
    if reader.bitDepth == .sixteen {
      let samples = bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
      return Image(
        width: reader.width, height: reader.height, layout: reader.layout, samples16: samples)
    }
    return Image(width: reader.width, height: reader.height, layout: reader.layout, samples: bytes)
  }

  func testEveryFixtureStreamsAsImageFileReadsIt() throws {
    var compared = 0
    var declined: [String] = []
    for folder in ["jpeg", "pngsuite", "crafted", "pnm"] {
      let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.path(folder))
      for name in names.sorted()
      where ImageFormat.readableExtensions.contains((name as NSString).pathExtension) {
        let path = Fixtures.path(folder + "/" + name)
        let expected: Result<Image, CodecError>
        do {
          expected = .success(try ImageFile.read(path))
        } catch {
          expected = .failure(error)
        }
        do {
          guard let image = try streamed(path) else {
            declined.append(name)
            continue
          }
          XCTAssertEqual(image, try expected.get(), name)
          compared += 1
        } catch let error as CodecError {
          guard case .failure(let reference) = expected else {
            XCTFail("\(name): \(error), but ImageFile.read decodes it")
            continue
          }
          XCTAssertEqual(error, reference, name)
        }
      }
    }
    XCTAssertGreaterThan(compared, 130)
    // Turned by EXIF (orientation 1 and none stream) or Adam7-interlaced.
    XCTAssertTrue(declined.contains("orientation-6-be.jpg"), "\(declined)")
    XCTAssertFalse(declined.contains("orientation-1-le.jpg"), "\(declined)")
    XCTAssertTrue(declined.contains("basi0g08.png"), "\(declined)")
    // Plain (text) PNM is read whole; binary PNM streams.
    XCTAssertTrue(declined.contains("p3.ppm"), "\(declined)")
    XCTAssertFalse(declined.contains("p6-1000.ppm"), "\(declined)")
    XCTAssertFalse(declined.contains("p4.pbm"), "\(declined)")
  }

  func testGrayRowsAreImageConvertedToGray() throws {
    for name in ["jpeg/rocket-crop.jpg", "pngsuite/basn6a16.png", "pngsuite/basn2c08.png"] {
      let path = Fixtures.path(name)
      let image = try ImageFile.read(path)
      let expected = image.converted(to: image.layout.hasAlpha ? .grayAlpha : .gray)
      XCTAssertEqual(try streamed(path, gray: true), expected, name)
    }
  }

  func testTheReasonNamesTheOrientation() throws {
    let turned = try ImageRowReader(
      path: Fixtures.path("jpeg/orientation-6-le.jpg"), options: .default, gray: false)
    XCTAssertEqual(turned.wholeImageReason, "EXIF orientation 6 turns the picture")
    let kept = try ImageRowReader(
      path: Fixtures.path("jpeg/orientation-6-le.jpg"),
      options: DecodeOptions(appliesEXIFOrientation: false), gray: false)
    XCTAssertNil(kept.wholeImageReason)
  }

  /// An eXIf chunk after the image data, past the first MiB the reader
  /// looks at: found only at the end, so `finish` sends the image to the
  /// whole-image path instead of handing out unturned rows as final.
  func testPNGeXIfAfterTheImageDataIsFoundAtTheEnd() throws {
    var generator = SystemRandomNumberGenerator()
    let width = 700, height = 700
    let noise = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let png = try ImageFile.encode(
      Image(width: width, height: height, layout: .rgb, samples: noise), as: .png)
    XCTAssertGreaterThan(png.count, ImageRowReader.headBytes)
    let early = EXIFOrientationTests.pngWithEXIF(
      png, orientation: 6, bigEndian: true, prefix: false)
    let chunk = Array(early[(8 + 25)..<(early.count - png.count + 8 + 25)])
    let late = Array(png[..<(png.count - 12)]) + chunk + Array(png[(png.count - 12)...])
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "late-exif-\(UUID().uuidString).png")
    try Data(late).write(to: path)
    defer { try? FileManager.default.removeItem(at: path) }
    XCTAssertEqual(
      try ImageFile.read(path.path).width, height, "the whole-image path turns it")
    XCTAssertNil(try streamed(path.path), "the streaming path must hand over")
  }
}
