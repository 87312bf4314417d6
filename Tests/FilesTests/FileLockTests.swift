import Files
import Foundation
import XCTest

final class FileLockTests: XCTestCase {
  var folder = ""

  override func setUpWithError() throws { folder = try makeScratchFolder("lock") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  /// flock locks belong to an open file, so a second holder in the same
  /// process is refused as one in another process would be.
  func testSecondHolderIsRefusedUntilTheFirstReleases() throws {
    let path = folder + "/model.bin"
    let first = try FileLock(protecting: path)
    XCTAssertEqual(first.lockPath, folder + "/.model.bin.lock")
    XCTAssertThrowsError(try FileLock(protecting: path)) { error in
      XCTAssertEqual(error as? FileError, .locked(path: path))
    }
    // Another file in the same folder has its own lock.
    let other = try FileLock(protecting: folder + "/other.bin")
    first.release()
    XCTAssertFalse(FileManager.default.fileExists(atPath: first.lockPath))
    let second = try FileLock(protecting: path)
    XCTAssertTrue(FileManager.default.fileExists(atPath: second.lockPath))
    second.release()
    other.release()
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [])
  }

  func testAForeignFlockHolderIsRespected() throws {
    let path = folder + "/model.bin"
    let fd = open(folder + "/.model.bin.lock", O_RDWR | O_CREAT, 0o600)
    XCTAssertEqual(flock(fd, LOCK_EX), 0)
    XCTAssertThrowsError(try FileLock(protecting: path)) { error in
      XCTAssertEqual(error as? FileError, .locked(path: path))
    }
    close(fd)
    XCTAssertNoThrow(try FileLock(protecting: path).release())
  }

  func testMissingFolderIsAnError() {
    let path = folder + "/none/model.bin"
    XCTAssertThrowsError(try FileLock(protecting: path)) { error in
      XCTAssertEqual(
        error as? FileError, .cannotLock(path: path, reason: "No such file or directory"))
    }
  }
}
