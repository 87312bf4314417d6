import XCTest

@testable import Tensors

final class NumPyFileTests: XCTestCase {
  func testHeaderBytesFollowFormatVersion1() {
    let bytes = NumPyFile.encode(shape: [3, 3, 1, 2], values: Array(repeating: 0, count: 18))
    XCTAssertEqual(Array(bytes[0..<8]), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
    let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    XCTAssertEqual((10 + headerLength) % 64, 0, "data starts 64-byte aligned")
    let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
    XCTAssertTrue(
      header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3, 1, 2), }"))
    XCTAssertTrue(header.hasSuffix(" \n"))
    XCTAssertEqual(header.filter { $0 == "\n" }.count, 1)
    XCTAssertEqual(bytes.count, 10 + headerLength + 18 * 4)
  }

  func testBytesEqualWhatNumPySaves() {
    // np.save(f, np.array([1, -2, 0.5], dtype='<f4')) with numpy 2.4 writes
    // exactly these 140 bytes: a 118-byte header (0x76) padded with spaces.
    let bytes = NumPyFile.encode(shape: [3], values: [1, -2, 0.5])
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
    let expectedHeader = dict + String(repeating: " ", count: 118 - dict.count - 1) + "\n"
    var expected: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, 0x76, 0]
    expected += Array(expectedHeader.utf8)
    // 1.0 = 0x3F800000, -2.0 = 0xC0000000, 0.5 = 0x3F000000, little-endian.
    expected += [0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0, 0, 0, 0, 0x3F]
    XCTAssertEqual(bytes.count, 140)
    XCTAssertEqual(bytes, expected)
  }

  func testWriteStoresTheEncodedBytes() throws {
    let folder = NSTemporaryDirectory() + "npy-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/bias.npy"
    try NumPyFile.write(shape: [2], values: [1, 2], to: path)
    let written = try Data(contentsOf: URL(fileURLWithPath: path))
    XCTAssertEqual(Array(written), NumPyFile.encode(shape: [2], values: [1, 2]))
  }

  func testWritingIntoAMissingFolderThrows() {
    XCTAssertThrowsError(try NumPyFile.write(shape: [1], values: [1], to: "/nonexistent-dir/x.npy"))
    {
      XCTAssertTrue("\($0)".contains("/nonexistent-dir/x.npy"))
    }
  }

  /// A file as `np.save` writes it: version 1.0 (2.0 when asked), the
  /// header dict padded to a multiple of 64, then `payload`.
  private func npy(
    _ descr: String, fortran: Bool = false, shape: String, payload: [UInt8], version: UInt8 = 1
  ) -> [UInt8] {
    var header =
      "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
    let preamble = version == 1 ? 10 : 12
    header += String(repeating: " ", count: (64 - (preamble + header.utf8.count + 1) % 64) % 64)
    header += "\n"
    let n = header.utf8.count
    let length: [UInt8] =
      version == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : [UInt8(n & 0xFF), UInt8(n >> 8), 0, 0]
    return [0x93] + Array("NUMPY".utf8) + [version, 0] + length + Array(header.utf8) + payload
  }

  func testDecodeReadsWhatEncodeWrites() throws {
    let values: [Float] = [1, -2, 0.5, 3.25, -0.125, 7]
    let array = try NumPyFile.decode(NumPyFile.encode(shape: [2, 3], values: values))
    XCTAssertEqual(array.dtype, .float32)
    XCTAssertEqual(array.shape, [2, 3])
    XCTAssertEqual(array.floats, values)
    XCTAssertNil(array.integers)
    let scalar = try NumPyFile.decode(NumPyFile.encode(shape: [], values: [4]))
    XCTAssertEqual(scalar.shape, [])
    XCTAssertEqual(scalar.floats, [4])
  }

  func testDecodeReadsFloat64Uint8AndIntegerLabels() throws {
    // 0.1 as float64 (0x3FB999999999999A) and -1.5 (0xBFF8000000000000).
    let doubles = try NumPyFile.decode(
      npy(
        "<f8", shape: "(2,)",
        payload: [0x9A, 0x99, 0x99, 0x99, 0x99, 0x99, 0xB9, 0x3F, 0, 0, 0, 0, 0, 0, 0xF8, 0xBF]))
    XCTAssertEqual(doubles.floats, [Float(0.1), -1.5])
    let bytes = try NumPyFile.decode(npy("|u1", shape: "(1, 3)", payload: [0, 128, 255]))
    XCTAssertEqual(bytes.floats, [0, 128, 255], "uint8 values are kept, not scaled")
    let labels = try NumPyFile.decode(
      npy(
        "<i8", shape: "(2,)",
        payload: [3, 0, 0, 0, 0, 0, 0, 0] + [255, 255, 255, 255, 255, 255, 255, 255]))
    XCTAssertEqual(labels.integers, [3, -1])
    let version2 = try NumPyFile.decode(
      npy("<i4", shape: "(1,)", payload: [9, 0, 0, 0], version: 2))
    XCTAssertEqual(version2.integers, [9])
  }

  func testDecodeRefusesDamagedAndUnsupportedFiles() {
    let good = npy("<f4", shape: "(2,)", payload: [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40])
    let cases: [([UInt8], NumPyError.Problem)] = [
      (Array("PK\u{3}\u{4} not numpy".utf8), .notNumPy),
      (Array(good.dropLast(3)), .truncated(expectedBytes: good.count, foundBytes: good.count - 3)),
      (good + [0], .trailingBytes(1)),
      (npy("<f4", fortran: true, shape: "(1, 2)", payload: Array(good.suffix(8))), .fortranOrder),
      (npy(">f4", shape: "(2,)", payload: Array(good.suffix(8))), .unsupportedDType(">f4")),
      (npy("<c8", shape: "(1,)", payload: Array(good.suffix(8))), .unsupportedDType("<c8")),
      (
        npy("<f4", shape: "[2]", payload: Array(good.suffix(8))),
        .badHeader("'shape' is not a tuple")
      ),
      ([0x93] + Array("NUMPY".utf8) + [9, 0, 0, 0], .unsupportedVersion(major: 9, minor: 0)),
      (Array(good.prefix(20)), .truncated(expectedBytes: 128, foundBytes: 20)),
    ]
    for (bytes, problem) in cases {
      XCTAssertThrowsError(try NumPyFile.decode(bytes), "\(problem)") {
        XCTAssertEqual($0 as? NumPyError.Problem, problem)
      }
    }
  }

  func testReadNamesTheFile() throws {
    let folder = NSTemporaryDirectory() + "npy-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/x.npy"
    try Data(npy("<f4", fortran: true, shape: "(1,)", payload: [0, 0, 0, 0])).write(
      to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try NumPyFile.read(path, maximumBytes: 1 << 20)) {
      XCTAssertEqual(
        "\($0)", "\(path): the array is in Fortran order; save it with np.ascontiguousarray first")
    }
    XCTAssertThrowsError(try NumPyFile.read(path, maximumBytes: 10)) {
      XCTAssertTrue("\($0)".hasPrefix(path), "\($0)")
    }
  }
}
