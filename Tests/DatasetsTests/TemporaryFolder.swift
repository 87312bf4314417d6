import Datasets
import Foundation
import XCTest

/// A fresh folder under the system temp directory, removed on deinit.
final class TemporaryFolder {
  let path: String

  init() throws {
    path = NSTemporaryDirectory() + "convviz-datasets-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// Writes `bytes` to `name` (sub-folders created as needed); returns the path.
  @discardableResult
  func write(_ bytes: [UInt8], to name: String) throws -> String {
    let file = path + "/" + name
    let folder = (file as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    return file
  }

  func makeFolder(_ name: String) throws {
    try FileManager.default.createDirectory(
      atPath: path + "/" + name, withIntermediateDirectories: true)
  }
}

/// The path of a committed fixture.
func fixturePath(_ name: String) -> String {
  Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
}

/// A raw IDX file: header `00 00 type ndims`, big-endian sizes, then `payload`.
func idxBytes(type: UInt8 = 0x08, dims: [Int], payload: [UInt8]) -> [UInt8] {
  var bytes: [UInt8] = [0, 0, type, UInt8(dims.count)]
  for d in dims {
    bytes += [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)]
  }
  return bytes + payload
}

/// Asserts that `body` throws exactly `expected`.
func XCTAssertThrowsDatasetError<T>(
  _ body: @autoclosure () throws -> T, _ expected: DatasetError,
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertThrowsError(try body(), file: file, line: line) { error in
    XCTAssertEqual(error as? DatasetError, expected, file: file, line: line)
  }
}
