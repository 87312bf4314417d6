import Datasets
import Files
import Foundation
import ImageCodecs
import XCTest

final class IDXFileTests: XCTestCase {
  func testReadsRawFile() throws {
    let folder = try TemporaryFolder()
    let payload: [UInt8] = (0..<24).map { UInt8($0 * 3) }
    let path = try folder.write(idxBytes(dims: [2, 3, 4], payload: payload), to: "a.idx")
    let file = try IDXFile.read(path)
    XCTAssertEqual(file.elementType, .uint8)
    XCTAssertEqual(file.dims, [2, 3, 4])
    XCTAssertEqual(file.bytes, payload)
    XCTAssertEqual(file.summary, "uint8 of shape (2, 3, 4)")
  }

  func testReadsGzipByMagicNotName() throws {
    // A gzip file without .gz in its name is still inflated.
    let folder = try TemporaryFolder()
    let gz = try [UInt8](
      Data(
        contentsOf: URL(
          fileURLWithPath: fixturePath(
            "mnist5/train-labels-idx1-ubyte.gz"))))
    XCTAssertEqual(Array(gz.prefix(2)), [0x1f, 0x8b])
    let path = try folder.write(gz, to: "labels-without-extension")
    let file = try IDXFile.read(path)
    XCTAssertEqual(file.dims, [5])
    XCTAssertEqual(file.bytes, [5, 0, 4, 1, 9])
  }

  func testRawFileNamedGzIsReadAsRaw() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(idxBytes(dims: [3], payload: [7, 8, 9]), to: "x.gz")
    XCTAssertEqual(try IDXFile.read(path).bytes, [7, 8, 9])
  }

  func testMultiByteTypesCountElementSize() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      idxBytes(type: 0x0B, dims: [3], payload: [0, 1, 0, 2, 0, 3]), to: "short.idx")
    let file = try IDXFile.read(path)
    XCTAssertEqual(file.elementType, .int16)
    XCTAssertEqual(file.bytes.count, 6)
  }

  func testTruncatedRawFileNamesExpectedAndActualBytes() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      idxBytes(dims: [2, 3, 4], payload: [UInt8](repeating: 1, count: 20)), to: "t.idx")
    XCTAssertThrowsDatasetError(
      try IDXFile.read(path), .sizeMismatch(path: path, expectedBytes: 24, actualBytes: 20))
    let message = String(
      describing: DatasetError.sizeMismatch(
        path: path, expectedBytes: 24, actualBytes: 20))
    XCTAssertTrue(message.contains("24") && message.contains("20") && message.contains(path))
  }

  func testTrailingDataIsMalformed() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      idxBytes(dims: [2, 2], payload: [UInt8](repeating: 1, count: 7)), to: "long.idx")
    XCTAssertThrowsDatasetError(
      try IDXFile.read(path), .sizeMismatch(path: path, expectedBytes: 4, actualBytes: 7))
  }

  func testGzipWithWrongCountIsMalformed() {
    let path = fixturePath("count-mismatch-idx3-ubyte.gz")
    XCTAssertThrowsDatasetError(
      try IDXFile.read(path),
      .sizeMismatch(path: path, expectedBytes: 6 * 784, actualBytes: 5 * 784))
  }

  func testTruncatedGzipIsReported() {
    let path = fixturePath("truncated-idx3-ubyte.gz")
    XCTAssertThrowsError(try IDXFile.read(path)) { error in
      guard case .corruptGzip(let errorPath, _)? = error as? DatasetError else {
        return XCTFail("expected corruptGzip, got \(error)")
      }
      XCTAssertEqual(errorPath, path)
    }
  }

  /// Regression (hostile input): `--limit` was applied after the whole gzip
  /// file had been inflated. Reading now stops after the kept samples, so
  /// a file whose damage lies past them reads fine with a limit.
  func testLimitStopsDecodingAfterTheKeptSamples() throws {
    let path = fixturePath("truncated-idx3-ubyte.gz")
    let first = try IDXFile.read(path, limit: 1)
    XCTAssertEqual(first.dims, [1, 28, 28])
    let whole = try IDXFile.read(fixturePath("mnist5/train-images-idx3-ubyte.gz"))
    XCTAssertEqual(first.bytes, Array(whole.bytes.prefix(784)))
    XCTAssertEqual(try IDXFile.read(path, limit: 0).bytes, [])
    XCTAssertEqual(
      try IDXFile.read(fixturePath("mnist5/train-images-idx3-ubyte.gz"), limit: 9), whole)
    XCTAssertThrowsError(try IDXFile.read(path, limit: 5))
  }

  /// A raw file's size on disk is checked even when a limit keeps a prefix.
  func testLimitStillChecksARawFilesLength() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      idxBytes(dims: [3, 2], payload: [1, 2, 3, 4, 5]), to: "short.idx")
    XCTAssertThrowsDatasetError(
      try IDXFile.read(path, limit: 1), .sizeMismatch(path: path, expectedBytes: 6, actualBytes: 5))
    let good = try folder.write(idxBytes(dims: [3, 2], payload: [1, 2, 3, 4, 5, 6]), to: "ok.idx")
    XCTAssertEqual(
      try IDXFile.read(good, limit: 2),
      IDXFile(elementType: .uint8, dims: [2, 2], bytes: [1, 2, 3, 4]))
  }

  func testCorruptGzipIsReported() {
    let path = fixturePath("corrupt-idx3-ubyte.gz")
    XCTAssertThrowsError(try IDXFile.read(path)) { error in
      guard case .corruptGzip? = error as? DatasetError else {
        return XCTFail("expected corruptGzip, got \(error)")
      }
    }
  }

  func testBadMagicIsRejected() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1], to: "png.idx")
    XCTAssertThrowsDatasetError(
      try IDXFile.read(path), .notIDX(path: path, firstBytes: [0x89, 0x50, 0x4e, 0x47]))
    let empty = try folder.write([], to: "empty.idx")
    XCTAssertThrowsDatasetError(try IDXFile.read(empty), .notIDX(path: empty, firstBytes: []))
  }

  func testUnknownTypeCodeIsRejected() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(idxBytes(type: 0x07, dims: [1], payload: [0]), to: "t.idx")
    XCTAssertThrowsDatasetError(
      try IDXFile.read(path), .unsupportedIDXType(path: path, typeCode: 0x07))
  }

  func testHugeHeaderOnTinyFileFailsWithoutAllocating() throws {
    // 4 G × 4 G × 255 elements would overflow; 65535³ fits in Int but not in memory.
    let folder = try TemporaryFolder()
    let overflow = try folder.write(
      idxBytes(dims: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], payload: [1, 2]), to: "o.idx")
    XCTAssertThrowsDatasetError(
      try IDXFile.read(overflow),
      .implausibleHeader(path: overflow, dims: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]))
    let huge = try folder.write(
      idxBytes(dims: [65535, 65535, 65535], payload: [1, 2]), to: "h.idx")
    XCTAssertThrowsDatasetError(
      try IDXFile.read(huge),
      .sizeMismatch(path: huge, expectedBytes: 65535 * 65535 * 65535, actualBytes: 2))
  }

  func testMissingFileIsUnreadable() {
    XCTAssertThrowsDatasetError(
      try IDXFile.read("/nonexistent/x.idx"), .file(.notFound(path: "/nonexistent/x.idx")))
  }

  /// A device or FIFO would inflate forever (or wait for a writer): refused.
  func testDevicesAndFIFOsAreRefusedUnread() throws {
    XCTAssertThrowsDatasetError(
      try IDXFile.read("/dev/zero"),
      .file(.notRegularFile(path: "/dev/zero", kind: .characterDevice)))
    let folder = try TemporaryFolder()
    let fifo = folder.path + "/pipe.idx"
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    XCTAssertThrowsDatasetError(
      try IDXFile.image(at: 0, path: fifo), .file(.notRegularFile(path: fifo, kind: .fifo)))
  }

  func testMNISTImageThreeMatchesKnownBytes() throws {
    let expected = try [UInt8](
      Data(
        contentsOf: URL(
          fileURLWithPath: fixturePath(
            "mnist-train-image3.raw"))))
    let image = try IDXFile.image(at: 3, path: fixturePath("mnist5/train-images-idx3-ubyte.gz"))
    XCTAssertEqual(image.width, 28)
    XCTAssertEqual(image.height, 28)
    XCTAssertEqual(image.layout, .gray)
    XCTAssertEqual(image.samples8, expected)
    // Image 3 is a "1": a thin stroke, far fewer lit pixels than a "0".
    XCTAssertLessThan(expected.filter { $0 > 128 }.count, 120)
  }

  func testImageAtReadsRawFilesAndChecksIndex() throws {
    let folder = try TemporaryFolder()
    let payload: [UInt8] = (0..<12).map(UInt8.init)
    let path = try folder.write(idxBytes(dims: [3, 2, 2], payload: payload), to: "i.idx")
    let image = try IDXFile.image(at: 2, path: path)
    XCTAssertEqual(image.samples8, [8, 9, 10, 11])
    XCTAssertThrowsDatasetError(
      try IDXFile.image(at: 3, path: path), .indexOutOfRange(path: path, index: 3, count: 3))
    XCTAssertThrowsDatasetError(
      try IDXFile.image(at: -1, path: path), .indexOutOfRange(path: path, index: -1, count: 3))
    let truncated = try folder.write(
      idxBytes(dims: [3, 2, 2], payload: Array(payload.prefix(10))), to: "short.idx")
    XCTAssertThrowsDatasetError(
      try IDXFile.image(at: 0, path: truncated),
      .sizeMismatch(path: truncated, expectedBytes: 12, actualBytes: 10))
    let labels = try folder.write(idxBytes(dims: [3], payload: [1, 2, 3]), to: "l.idx")
    XCTAssertThrowsError(try IDXFile.image(at: 0, path: labels)) { error in
      guard case .unexpectedShape? = error as? DatasetError else {
        return XCTFail("expected unexpectedShape, got \(error)")
      }
    }
  }
}
