import Foundation
import XCTest

@testable import ImageCodecs

/// The DCT methods and upsampling choices give exactly what libjpeg-turbo's
/// own `djpeg -dct … [-nosmooth]` and `cjpeg -dct …` give
/// (Fixtures/make_jpeg_settings.sh), on the whole-image and streaming paths.
final class JPEGSettingsTests: XCTestCase {
  private struct Line {
    var kind: String
    var file: String
    var dct: JPEGDCT
    var upsampling: JPEGUpsampling
    var sha256: String
  }

  private func lines() throws -> [Line] {
    let text = try String(contentsOfFile: Fixtures.path("jpeg-settings.tsv"), encoding: .utf8)
    return try text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
      let fields = line.split(separator: "\t").map(String.init)
      let flags = fields[2].split(separator: " ").map(String.init)
      let dctName = try XCTUnwrap(flags.firstIndex(of: "-dct").map { flags[$0 + 1] })
      return Line(
        kind: fields[0], file: fields[1], dct: try XCTUnwrap(JPEGDCT(rawValue: dctName)),
        upsampling: flags.contains("-nosmooth") ? .fast : .fancy, sha256: fields[3])
    }
  }

  func testDecodingMatchesDjpegForEverySetting() throws {
    let decodes = try lines().filter { $0.kind == "decode" }
    XCTAssertEqual(decodes.count, 18)
    var distinct: Set<String> = []
    for line in decodes {
      var options = DecodeOptions.default
      options.jpegDCT = line.dct
      options.jpegUpsampling = line.upsampling
      let path = Fixtures.path(line.file)
      let image = try ImageFile.read(path, options: options)
      let what = "\(line.file) \(line.dct) \(line.upsampling)"
      XCTAssertEqual(SHA256.hex(image.samples8), line.sha256, what)
      let streamed = try streamedSamples(path, options: options)
      XCTAssertEqual(streamed, image.samples8, "streaming: " + what)
      distinct.insert(line.sha256)
    }
    // Each setting changes testorig.jpg (4:2:0) differently.
    XCTAssertGreaterThanOrEqual(distinct.count, 6 + 3 + 3)
  }

  func testEncodingMatchesCjpegForEveryDCT() throws {
    for line in try lines() where line.kind == "encode" {
      let image = try ImageFile.read(Fixtures.path(line.file))
      var options = EncodeOptions(quality: 90)
      options.jpegDCT = line.dct
      let bytes = try ImageFile.encode(image, as: .jpeg, options: options)
      XCTAssertEqual(SHA256.hex(bytes), line.sha256, "\(line.file) \(line.dct)")
    }
  }

  private func streamedSamples(_ path: String, options: DecodeOptions) throws -> [UInt8] {
    let reader = try ImageRowReader(path: path, options: options, gray: false)
    var bytes = [UInt8](repeating: 0, count: reader.rowBytes * reader.height)
    try bytes.withUnsafeMutableBytes { try reader.read(rows: reader.height, into: $0.baseAddress!) }
    XCTAssertTrue(try reader.finish())
    return bytes
  }
}
