import XCTest

@testable import ImageCodecs

/// Decoded pixels equal those of a trusted decoder (pypng for PNG, djpeg of
/// the same libjpeg-turbo for JPEG), through the hashes in golden.tsv.
final class GoldenTests: XCTestCase {
  func testSHA256MatchesFIPSVectors() {
    XCTAssertEqual(
      SHA256.hex(Array("abc".utf8)),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertEqual(
      SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
  }

  func testEveryValidPngSuiteFileMatchesGolden() throws {
    let goldens = try Fixtures.goldens().filter { $0.name.hasPrefix("pngsuite/") }
    let validFiles = try Fixtures.names(in: "pngsuite").filter { !$0.hasPrefix("x") }
    XCTAssertEqual(goldens.count, validFiles.count, "every valid PngSuite file has a golden")
    XCTAssertGreaterThan(goldens.count, 150)
    try check(goldens)
  }

  func testJPEGVariantsMatchDjpeg() throws {
    let goldens = try Fixtures.goldens().filter { $0.name.hasPrefix("jpeg/") }
    let names = Set(goldens.map(\.name))
    for required in [
      "jpeg/testorig.jpg", "jpeg/testimgint.jpg", "jpeg/testimgari.jpg",
      "jpeg/gray.jpg", "jpeg/progressive444.jpg", "jpeg/rocket-crop.jpg",
      "jpeg/cmyk.jpg", "jpeg/ycck.jpg",
    ] {
      XCTAssertTrue(names.contains(required), required)
    }
    try check(goldens)
  }

  func testDepthLayoutAndScalingOfRepresentativeFiles() throws {
    // 1-bit gray scales to 0/255.
    let oneBit = try ImageFile.read(Fixtures.path("pngsuite/basn0g01.png"))
    XCTAssertEqual(Set(oneBit.samples8), [0, 255])
    // 16-bit stays 16-bit, with values above 255.
    let sixteen = try ImageFile.read(Fixtures.path("pngsuite/basn0g16.png"))
    XCTAssertEqual(sixteen.bitDepth, .sixteen)
    XCTAssertGreaterThan(sixteen.samples16.max() ?? 0, 255)
    // Palette with tRNS gives RGBA, without gives RGB; tRNS on gray adds alpha.
    XCTAssertEqual(try ImageFile.read(Fixtures.path("pngsuite/tbbn3p08.png")).layout, .rgba)
    XCTAssertEqual(try ImageFile.read(Fixtures.path("pngsuite/basn3p08.png")).layout, .rgb)
    XCTAssertEqual(try ImageFile.read(Fixtures.path("pngsuite/tbbn0g04.png")).layout, .grayAlpha)
    // Adam7 decodes to the same pixels as the non-interlaced file.
    XCTAssertEqual(
      try ImageFile.read(Fixtures.path("pngsuite/basi2c16.png")),
      try ImageFile.read(Fixtures.path("pngsuite/basn2c16.png")))
  }

  func testGammaChunksDoNotChangeStoredSamples() throws {
    // g03 (gamma 0.35) and g25 (gamma 2.5) store the same samples differently
    // corrected for display; we return what is stored, so they differ from
    // each other exactly as their files do, and neither is altered.
    let low = try ImageFile.read(Fixtures.path("pngsuite/g03n0g16.png"))
    let high = try ImageFile.read(Fixtures.path("pngsuite/g25n0g16.png"))
    XCTAssertEqual(low.bitDepth, .sixteen)
    XCTAssertNotEqual(low.samples16, high.samples16)
  }

  func testCMYKJPEGConvertsToRGBLikePillow() throws {
    let image = try ImageFile.read(Fixtures.path("jpeg/cmyk.jpg"))
    XCTAssertEqual(image.layout, .rgb)
    let expected = try Fixtures.bytes("cmyk.rgb")
    XCTAssertEqual(image.samples8.count, expected.count)
    let diffs = zip(image.samples8, expected).map { abs(Int($0) - Int($1)) }
    XCTAssertLessThanOrEqual(diffs.max() ?? 0, 2)
    XCTAssertLessThan(Double(diffs.reduce(0, +)) / Double(diffs.count), 0.5)
  }

  private func check(
    _ goldens: [Fixtures.Golden], file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    for golden in goldens {
      let image = try ImageFile.read(Fixtures.path(golden.name))
      XCTAssertEqual(image.width, golden.width, golden.name, file: file, line: line)
      XCTAssertEqual(image.height, golden.height, golden.name, file: file, line: line)
      XCTAssertEqual(image.layoutName, golden.layout, golden.name, file: file, line: line)
      XCTAssertEqual(image.bitDepth.rawValue, golden.bitDepth, golden.name, file: file, line: line)
      XCTAssertEqual(
        SHA256.hex(image.sampleBytes), golden.sha256, golden.name,
        file: file, line: line)
    }
  }
}
