import CZlib
import Foundation
import XCTest

@testable import ImageCodecs

/// The PNG image data read by igzip instead of libpng: chunk boundaries
/// anywhere in the zlib stream, in memory and streamed from a file, and
/// damage judged exactly as libpng judges it (a bad CRC is refused, a bad
/// Adler-32 after the last row accepted).
final class PNGFastPathTests: XCTestCase {
  static func putU32(_ value: Int, _ out: inout [UInt8]) {
    out += [
      UInt8(value >> 24 & 255), UInt8(value >> 16 & 255), UInt8(value >> 8 & 255),
      UInt8(value & 255),
    ]
  }

  /// `png` with its zlib stream re-cut into IDAT chunks of 1, 2, ... 13
  /// bytes (cycling), `mutate` applied to the stream, every CRC correct
  /// except that of IDAT chunk `damaged`, whose first data byte is flipped
  /// after its CRC was computed. `checksumApart` puts the stream's last 4
  /// bytes (the Adler-32) in a chunk of their own, as convviz writes them.
  static func recut(
    _ png: [UInt8], damaged: Int? = nil, checksumApart: Bool = false,
    mutate: (inout [UInt8]) -> Void = { _ in }
  ) -> [UInt8] {
    let chunks = PNGBandsTests.chunks(png)
    var stream = chunks.filter { $0.type == "IDAT" }.flatMap { Array($0.data) }
    mutate(&stream)
    var out = Array(png.prefix(8))
    func append(_ type: String, _ data: ArraySlice<UInt8>) {
      putU32(data.count, &out)
      let body = Array(type.utf8) + data
      out += body
      let crc = body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
      putU32(Int(crc), &out)
    }
    var wroteData = false
    var idats = 0
    for chunk in chunks {
      if chunk.type == "IDAT" {
        guard !wroteData else { continue }
        wroteData = true
        var offset = 0
        var size = 1
        while offset < stream.count {
          let dataEnd = checksumApart && offset < stream.count - 4 ? stream.count - 4 : stream.count
          let end = min(dataEnd, offset + size)
          append("IDAT", stream[offset..<end])
          if idats == damaged { out[out.count - 4 - (end - offset)] ^= 0x01 }
          idats += 1
          offset = end
          size = size % 13 + 1
        }
      } else {
        append(chunk.type, chunk.data)
      }
    }
    return out
  }

  func streamed(_ bytes: [UInt8]) throws -> Image {
    let path = NSTemporaryDirectory() + "convviz-fast-\(UUID().uuidString).png"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let reader = try ImageRowReader(path: path, options: .default, gray: false)
    var pixels = [UInt8](repeating: 0, count: reader.rowBytes * reader.height)
    var row = 0
    while row < reader.height {
      let count = min(5, reader.height - row)
      try pixels.withUnsafeMutableBytes { raw in
        try reader.read(rows: count, into: raw.baseAddress! + row * reader.rowBytes)
      }
      row += count
    }
    XCTAssertTrue(try reader.finish())
    return Image(width: reader.width, height: reader.height, layout: reader.layout, samples: pixels)
  }

  func testChunkBoundariesAnywhereDecodeTheSamePixels() throws {
    let image = PNGBandsTests.photoLike(width: 300, height: 200, layout: .rgb, sixteen: false)
    for level in [2, 6] {
      let png = try PNGCodec.encode(image, compressionLevel: level).array
      let cut = Self.recut(png)
      XCTAssertGreaterThan(PNGBandsTests.chunks(cut).count, 1000)
      XCTAssertEqual(try ImageFile.decode(cut, name: "cut.png"), image, "level \(level)")
      XCTAssertEqual(try streamed(cut), image, "level \(level), streamed")
    }
  }

  func testDamageIsJudgedAsLibpngJudgesIt() throws {
    let image = PNGBandsTests.photoLike(width: 300, height: 200, layout: .rgb, sixteen: false)
    let png = try PNGCodec.encode(image, compressionLevel: 2).array
    // A flipped Adler-32 byte: libpng checks it only after the last row,
    // as a warning, so the file decodes. (Only when the checksum comes in a
    // later piece than the last row's end, as convviz writes it: when zlib
    // has the end of the data and the checksum in one call, it checks it
    // before libpng has its last row, and libpng fails, whichever encoder
    // wrote the stream.)
    let badChecksum = Self.recut(png, checksumApart: true) { $0[$0.count - 1] ^= 0x5A }
    XCTAssertEqual(try ImageFile.decode(badChecksum, name: "adler.png"), image)
    XCTAssertEqual(try streamed(badChecksum), image)
    // A flipped data byte with its chunk's CRC left as it was: libpng's error.
    let badCRC = Self.recut(png, damaged: 500)
    XCTAssertThrowsError(try ImageFile.decode(badCRC, name: "crc.png")) { error in
      XCTAssertTrue("\(error)".contains("crc.png"), "\(error)")
      XCTAssertTrue("\(error)".lowercased().contains("crc"), "\(error)")
    }
  }
}
