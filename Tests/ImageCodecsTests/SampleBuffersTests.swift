import XCTest

@testable import ImageCodecs

/// Decoding into arrays kept from earlier images (`SampleBuffers`): the
/// same image as a fresh decode whatever the kept array held, a reuse only
/// for the same sample count, and at most `capacity` arrays kept.
final class SampleBuffersTests: XCTestCase {
  /// An image of the given size whose every sample is `value`: what a kept
  /// array holds before it is decoded over.
  static func filled(
    _ width: Int, _ height: Int, _ layout: Image.Layout, sixteen: Bool, _ value: Int
  )
    -> Image
  {
    let count = width * height * layout.channels
    return sixteen
      ? Image(
        width: width, height: height, layout: layout,
        samples16: [UInt16](repeating: UInt16(value), count: count))
      : Image(
        width: width, height: height, layout: layout,
        samples: [UInt8](repeating: UInt8(value), count: count))
  }

  func testDecodingIntoKeptArraysGivesTheFreshDecode() throws {
    let png8 = PNGBandsTests.photoLike(width: 70, height: 50, layout: .rgb, sixteen: false)
    let png16 = PNGBandsTests.photoLike(width: 30, height: 20, layout: .rgba, sixteen: true)
    let jpegSource = PNGBandsTests.photoLike(width: 64, height: 40, layout: .rgb, sixteen: false)
    let files: [(String, [UInt8], Image)] = [
      ("8-bit PNG", try ImageFile.encode(png8, as: .png), png8),
      ("16-bit PNG", try ImageFile.encode(png16, as: .png), png16),
      ("JPEG", try ImageFile.encode(jpegSource, as: .jpeg), jpegSource),
    ]
    for (name, bytes, source) in files {
      let fresh = try ImageFile.decode(bytes, name: name)
      let buffers = SampleBuffers(capacity: 2)
      var options = DecodeOptions()
      options.buffers = buffers
      for garbage in [0, 0xAB, 0xFFFF] {
        buffers.recycle(
          Self.filled(
            source.width, source.height, fresh.layout, sixteen: source.bitDepth == .sixteen,
            garbage & (source.bitDepth == .sixteen ? 0xFFFF : 0xFF)))
        let reused = try ImageFile.decode(bytes, name: name, options: options)
        XCTAssertEqual(reused, fresh, "\(name), kept array full of \(garbage)")
      }
      XCTAssertEqual(buffers.reuses, 3, name)
    }
  }

  /// The kept memory itself is decoded into, not a copy of it (a second
  /// reference to the array while it is written would copy it, and the
  /// reuse would be for nothing).
  func testTheKeptMemoryIsWrittenNotCopied() throws {
    for (format, sixteen) in [(ImageFormat.png, false), (.png, true), (.jpeg, false)] {
      let image = PNGBandsTests.photoLike(width: 50, height: 40, layout: .rgb, sixteen: sixteen)
      let bytes = try ImageFile.encode(image, as: format)
      let buffers = SampleBuffers(capacity: 2)
      var kept: Image? = Self.filled(50, 40, .rgb, sixteen: sixteen, 1)
      let address: UnsafeRawPointer? =
        sixteen
        ? kept!.samples16.withUnsafeBytes { $0.baseAddress }
        : kept!.samples8.withUnsafeBytes { $0.baseAddress }
      buffers.recycle(kept!)
      kept = nil
      var options = DecodeOptions()
      options.buffers = buffers
      let decoded = try ImageFile.decode(bytes, name: "c", options: options)
      let decodedAddress: UnsafeRawPointer? =
        sixteen
        ? decoded.samples16.withUnsafeBytes { $0.baseAddress }
        : decoded.samples8.withUnsafeBytes { $0.baseAddress }
      XCTAssertEqual(decodedAddress, address, "\(format) sixteen \(sixteen)")
      XCTAssertEqual(decoded, try ImageFile.decode(bytes, name: "c"))
    }
  }

  func testOnlyTheSameSampleCountIsReused() throws {
    let image = PNGBandsTests.photoLike(width: 40, height: 30, layout: .gray, sixteen: false)
    let bytes = try ImageFile.encode(image, as: .png)
    let buffers = SampleBuffers(capacity: 4)
    var options = DecodeOptions()
    options.buffers = buffers
    // Another size: not reused, and dropped, so that it is not held for
    // nothing.
    buffers.recycle(Self.filled(41, 30, .gray, sixteen: false, 7))
    XCTAssertEqual(try ImageFile.decode(bytes, name: "a.png", options: options), image)
    XCTAssertEqual(buffers.reuses, 0)
    buffers.recycle(Self.filled(40, 30, .gray, sixteen: false, 7))
    XCTAssertEqual(try ImageFile.decode(bytes, name: "a.png", options: options), image)
    XCTAssertEqual(buffers.reuses, 1, "the array of another size was dropped, this one taken")
  }

  func testAtMostCapacityArraysAreKept() {
    let buffers = SampleBuffers(capacity: 2)
    for value in 0..<5 { buffers.recycle(Self.filled(8, 8, .gray, sixteen: false, value)) }
    var taken = 0
    while buffers.take(UInt8.self, count: 64) != nil { taken += 1 }
    XCTAssertEqual(taken, 2)
  }

  /// An array still held by its image is copied on first write: the image
  /// keeps its samples.
  func testAnArrayStillInUseIsNotWrittenOver() throws {
    let image = PNGBandsTests.photoLike(width: 20, height: 10, layout: .rgb, sixteen: false)
    let bytes = try ImageFile.encode(image, as: .png)
    let held = Self.filled(20, 10, .rgb, sixteen: false, 3)
    let buffers = SampleBuffers(capacity: 2)
    buffers.recycle(held)
    var options = DecodeOptions()
    options.buffers = buffers
    XCTAssertEqual(try ImageFile.decode(bytes, name: "b.png", options: options), image)
    XCTAssertEqual(held, Self.filled(20, 10, .rgb, sixteen: false, 3))
  }
}
