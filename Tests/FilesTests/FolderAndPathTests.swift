import Files
import Foundation
import XCTest

final class FolderAndPathTests: XCTestCase {
  var folder = ""

  override func setUpWithError() throws { folder = try makeScratchFolder("folder") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  func testListingIsSortedByBytesWithoutHiddenNames() throws {
    for name in ["b", "B", "a.png", ".hidden", "Z", "é"] {
      _ = FileManager.default.createFile(atPath: folder + "/" + name, contents: Data())
    }
    XCTAssertEqual(try Folder.list(folder), ["B", "Z", "a.png", "b", "é"])
    XCTAssertEqual(
      try Folder.list(folder, includingHidden: true), [".hidden", "B", "Z", "a.png", "b", "é"])
    XCTAssertThrowsError(try Folder.list(folder + "/none")) { error in
      XCTAssertEqual(error as? FileError, .notFound(path: folder + "/none"))
    }
    XCTAssertThrowsError(try Folder.list(folder + "/b")) { error in
      XCTAssertEqual(
        error as? FileError, .cannotList(path: folder + "/b", reason: "Not a directory"))
    }
  }

  func testCreateMakesParentsAndNamesWhatBlocksIt() throws {
    let nested = folder + "/x/y/z"
    try Folder.create(nested)
    try Folder.create(nested)
    XCTAssertTrue(Path.isDirectory(nested))
    let blocker = folder + "/file"
    _ = FileManager.default.createFile(atPath: blocker, contents: Data())
    XCTAssertThrowsError(try Folder.create(blocker + "/sub/deeper")) { error in
      XCTAssertEqual(error as? FileError, .cannotCreateFolder(path: blocker, reason: "File exists"))
    }
    XCTAssertThrowsError(try Folder.create(blocker)) { error in
      XCTAssertEqual(error as? FileError, .cannotCreateFolder(path: blocker, reason: "File exists"))
    }
  }

  func testPathPieces() {
    XCTAssertEqual(Path.join("a", "b.png"), "a/b.png")
    XCTAssertEqual(Path.join("a/", "b.png"), "a/b.png")
    XCTAssertEqual(Path.folder(of: "a/b/c.png"), "a/b")
    XCTAssertEqual(Path.folder(of: "c.png"), ".")
    XCTAssertEqual(Path.folder(of: "/c.png"), "/")
    XCTAssertEqual(Path.baseName(of: "a/b/c.png"), "c.png")
    XCTAssertEqual(Path.baseName(of: "c.png"), "c.png")
    XCTAssertEqual(Path.kind(of: "/dev/null"), .characterDevice)
    XCTAssertEqual(Path.kind(of: folder), .directory)
    XCTAssertNil(Path.kind(of: folder + "/none"))
    XCTAssertTrue(Path.isDirectory(folder))
    XCTAssertFalse(Path.isFile(folder))
  }
}
