import XCTest

@testable import ImageCodecs

/// Randomly damaged files decode or throw a `CodecError`; they never crash,
/// hang or make the decoder report an image of another size than declared.
final class DamagedFileTests: XCTestCase {
  /// A small deterministic generator (SplitMix64), so failures reproduce.
  struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
  }

  func testFlippedBytesNeverCrash() throws {
    var random = SplitMix64(state: 42)
    let names = [
      "pngsuite/basn2c08.png", "pngsuite/basi6a16.png", "pngsuite/basn3p04.png",
      "jpeg/testorig.jpg", "jpeg/testimgint.jpg", "jpeg/testimgari.jpg",
      "jpeg/gray.jpg", "jpeg/ycck.jpg", "jpeg/orientation-6-be.jpg",
    ]
    var decoded = 0, rejected = 0
    for name in names {
      let original = try Fixtures.bytes(name)
      for _ in 0..<60 {
        var bytes = original
        for _ in 0...random.below(4) {
          bytes[random.below(bytes.count)] ^= UInt8(1 + random.below(255))
        }
        // Leniently, libjpeg's recovery from damaged data runs too.
        if let image = try? ImageFile.decode(bytes, name: "damaged", options: .init(lenient: true))
        {
          let samples = image.bitDepth == .eight ? image.samples8.count : image.samples16.count
          XCTAssertEqual(samples, image.width * image.height * image.channels)
        }
        do {
          let image = try ImageFile.decode(bytes, name: "damaged")
          let samples = image.bitDepth == .eight ? image.samples8.count : image.samples16.count
          XCTAssertEqual(samples, image.width * image.height * image.channels)
          decoded += 1
        } catch {
          XCTAssertFalse(error.description.isEmpty)
          rejected += 1
        }
      }
    }
    // Both outcomes occur: damage in places no check covers (JPEG scan data
    // that still parses, metadata) decodes, a PNG CRC catches nearly everything.
    XCTAssertGreaterThan(decoded, 0)
    XCTAssertGreaterThan(rejected, 0)
  }

  /// Damaged JPEG scan data makes libjpeg warn ("Corrupt JPEG data: ...").
  /// By default that is an error; leniently the image decodes and the
  /// warning is reported to the caller. Either way libjpeg's default
  /// output_message, which prints to stderr, never runs.
  func testCorruptScanDataIsAnErrorUnlessLenientAndNeverPrinted() throws {
    var bytes = try Fixtures.bytes("jpeg/testorig.jpg")
    let scanStart = try XCTUnwrap(
      (0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
    for offset in stride(from: 200, to: 2000, by: 97) { bytes[scanStart + offset] ^= 0x5A }
    let folder = try Fixtures.temporaryFolder(self)
    let captured = folder + "/stderr.txt"
    let saved = dup(2)
    let capture = open(captured, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    XCTAssertGreaterThanOrEqual(capture, 0)
    dup2(capture, 2)
    let strict = Result { () throws(CodecError) in try ImageFile.decode(bytes, name: "warn.jpg") }
    var warnings: [CodecWarning] = []
    let lenient = Result { () throws(CodecError) in
      try ImageFile.decode(bytes, name: "warn.jpg", options: .init(lenient: true)) {
        warnings.append($0)
      }
    }
    dup2(saved, 2)
    close(capture)
    close(saved)
    guard case .failure(.corruptData("warn.jpg", .jpeg, let message)) = strict else {
      return XCTFail("expected corruptData, got \(strict)")
    }
    XCTAssertTrue(message.hasPrefix("Corrupt JPEG data"), message)
    XCTAssertNoThrow(try lenient.get(), "damaged scan data decodes leniently")
    XCTAssertEqual(warnings.count, 1)
    XCTAssertEqual(warnings.first?.message, message)
    XCTAssertGreaterThanOrEqual(warnings.first?.count ?? 0, 1)
    // (Checked by size: Foundation's String(contentsOfFile:) leaks on empty
    // files under the address sanitizer.)
    let size = try FileManager.default.attributesOfItem(atPath: captured)[.size] as? Int
    XCTAssertEqual(size, 0, "nothing written to stderr")
  }
}
