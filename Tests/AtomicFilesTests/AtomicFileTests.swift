import Foundation
import XCTest

@testable import AtomicFiles

final class AtomicFileTests: XCTestCase {
  var folder: String = ""

  override func setUpWithError() throws {
    folder = NSTemporaryDirectory() + "atomic-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: folder)
  }

  func testWritesAndReplaces() throws {
    let path = folder + "/a.bin"
    try AtomicFile.write([1, 2, 3], to: path)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data([1, 2, 3]))
    try AtomicFile.write("hello", to: path)
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "hello")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["a.bin"])
  }

  func testMissingFolderThrowsAndLeavesNothing() {
    let path = folder + "/missing/a.bin"
    XCTAssertThrowsError(try AtomicFile.write([1], to: path)) { error in
      guard case .cannotCreate(let p, _) = error as? FileWriteError else {
        return XCTFail("unexpected \(error)")
      }
      XCTAssertEqual(p, path)
    }
  }

  func testRenameOntoDirectoryFailsAndKeepsNoTemporary() throws {
    let path = folder + "/dir"
    try FileManager.default.createDirectory(atPath: path + "/inner", withIntermediateDirectories: true)
    XCTAssertThrowsError(try AtomicFile.write([1], to: path)) { error in
      guard case .cannotRename = error as? FileWriteError else { return XCTFail("unexpected \(error)") }
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["dir"])
  }
}
