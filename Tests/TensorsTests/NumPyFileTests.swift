import XCTest

@testable import Visualization

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
}
