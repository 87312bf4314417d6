import CZlib
import XCTest
import _Runtime

@testable import ImageCodecs

/// The parallel PNG encoder (bands of rows deflated apart and joined into one
/// zlib stream) against the single-stream libpng reference: the same pixels
/// at every level, the same bytes whatever the thread count, and a stream
/// whose checksums a decoder verifies.
final class PNGBandsTests: XCTestCase {
  override func tearDown() {
    cvz_set_threads(0)
    super.tearDown()
  }

  /// Smooth gradients plus seeded noise: compressible, so matches reach back
  /// across band boundaries, yet no two rows alike.
  static func photoLike(width: Int, height: Int, layout: Image.Layout, sixteen: Bool) -> Image {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func noise() -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int(state >> 60) - 8
    }
    let count = width * height * layout.channels
    if sixteen {
      var samples = [UInt16](repeating: 0, count: count)
      for i in 0..<count {
        let pixel = i / layout.channels, x = pixel % width, y = pixel / width
        samples[i] = UInt16(clamping: (x * 40 + y * 17 + (i % layout.channels) * 5_000) + noise())
      }
      return Image(width: width, height: height, layout: layout, samples16: samples)
    }
    var samples = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
      let pixel = i / layout.channels, x = pixel % width, y = pixel / width
      samples[i] = UInt8(truncatingIfNeeded: (x / 3 + y / 5 + (i % layout.channels) * 60) + noise())
    }
    return Image(width: width, height: height, layout: layout, samples: samples)
  }

  /// Images of several bands (about 1 MiB of rows each), one band, and rows
  /// so long that every band is one row.
  static let images: [Image] = [
    photoLike(width: 700, height: 600, layout: .rgb, sixteen: false),
    photoLike(width: 500, height: 400, layout: .rgba, sixteen: true),
    photoLike(width: 33, height: 9, layout: .gray, sixteen: false),
    photoLike(width: 600_000, height: 3, layout: .gray, sixteen: false),
  ]

  func testBandsDecodeLikeTheReferenceAtEveryLevel() throws {
    for image in Self.images {
      var sizes: [Int] = []
      for level in 0...9 {
        let bands = try PNGCodec.encode(image, compressionLevel: level).array
        let reference = try PNGCodec.encode(image, compressionLevel: level, encoder: .reference)
          .array
        let name = "\(image.width)x\(image.height) level \(level)"
        XCTAssertEqual(try ImageFile.decode(bands, name: "bands.png"), image, name)
        XCTAssertEqual(try ImageFile.decode(reference, name: "ref.png"), image, name)
        // The same filters and zlib settings: sizes within a few percent;
        // igzip's level 1 against zlib's level 1 (the reference's stand-in)
        // within 15%; the default's own deflate (the same matches as the
        // reference's Z_RLE, its own choice of filters) never more than 2%
        // larger (32 bytes on a tiny image, where zlib's tables are leaner).
        let settings = PNGCodec.Settings(level: level)
        let ratio = Double(bands.count) / Double(reference.count)
        if settings.usesRuns {
          XCTAssertLessThanOrEqual(
            bands.count, max(reference.count * 102 / 100, reference.count + 32),
            "\(name): \(bands.count) vs \(reference.count)")
        } else {
          XCTAssertLessThan(
            abs(ratio - 1), settings.usesIGZIP ? 0.15 : 0.05,
            "\(name): \(bands.count) vs \(reference.count)")
        }
        sizes.append(bands.count)
      }
      XCTAssertGreaterThan(sizes[0], image.width * image.height * image.channels, "stored")
      XCTAssertLessThan(sizes[9], sizes[0], "level 9 compresses")
    }
  }

  func testBytesDoNotDependOnTheThreadCount() throws {
    for image in Self.images {
      for level in [0, 2, 3, 6] {
        var outputs: [[UInt8]] = []
        for threads in [1, 2, 5] {
          cvz_set_threads(Int32(threads))
          outputs.append(try PNGCodec.encode(image, compressionLevel: level).array)
        }
        XCTAssertEqual(outputs[0], outputs[1], "\(image.width)x\(image.height) level \(level)")
        XCTAssertEqual(outputs[0], outputs[2], "\(image.width)x\(image.height) level \(level)")
      }
    }
  }

  /// The chunks of a PNG: type and data.
  static func chunks(_ png: [UInt8]) -> [(type: String, data: ArraySlice<UInt8>)] {
    var result: [(String, ArraySlice<UInt8>)] = []
    var offset = 8
    while offset + 12 <= png.count {
      let length = png[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
      let type = String(decoding: png[offset + 4..<offset + 8], as: UTF8.self)
      result.append((type, png[offset + 8..<offset + 8 + length]))
      offset += 12 + length
    }
    return result
  }

  /// The bands' joined IDAT data is one zlib stream that inflates, checksum
  /// included (libpng does not check it), to the filtered rows.
  func testJoinedStreamIsOneZlibStreamWithItsChecksum() throws {
    let image = Self.images[0]
    let png = try PNGCodec.encode(image, compressionLevel: 2).array
    let parts = Self.chunks(png)
    XCTAssertGreaterThan(parts.filter { $0.type == "IDAT" }.count, 2, "several bands")
    let stream = parts.filter { $0.type == "IDAT" }.flatMap { Array($0.data) }
    let rowBytes = image.width * image.channels + 1
    var inflated = [UInt8](repeating: 0, count: rowBytes * image.height + 1)
    var inflatedCount = uLong(inflated.count)
    let status = stream.withUnsafeBufferPointer { input in
      inflated.withUnsafeMutableBufferPointer { output in
        uncompress(output.baseAddress, &inflatedCount, input.baseAddress, uLong(input.count))
      }
    }
    XCTAssertEqual(status, Z_OK, "zlib's uncompress checks the Adler-32")
    XCTAssertEqual(Int(inflatedCount), rowBytes * image.height)

    // The same stream with its last Adler-32 byte flipped is refused, so the
    // check above is real.
    var damaged = stream
    damaged[damaged.count - 1] ^= 0x01
    inflatedCount = uLong(inflated.count)
    let damagedStatus = damaged.withUnsafeBufferPointer { input in
      inflated.withUnsafeMutableBufferPointer { output in
        uncompress(output.baseAddress, &inflatedCount, input.baseAddress, uLong(input.count))
      }
    }
    XCTAssertEqual(damagedStatus, Z_DATA_ERROR)
  }
}
