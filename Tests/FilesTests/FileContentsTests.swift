import Files
import Foundation
import XCTest

final class FileContentsTests: XCTestCase {
  var folder = ""

  override func setUpWithError() throws { folder = try makeScratchFolder("contents") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  func testReadsWholeFilesAndEmptyOnes() throws {
    let path = folder + "/a.bin"
    let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    XCTAssertEqual(try FileContents.read(path, maximumBytes: bytes.count), bytes)
    let empty = folder + "/empty"
    _ = FileManager.default.createFile(atPath: empty, contents: Data())
    XCTAssertEqual(try FileContents.read(empty, maximumBytes: 10), [])
  }

  /// Files in /proc report size 0 and are read in chunks to their end.
  func testReadsFilesThatReportNoSize() throws {
    let status = try FileContents.read("/proc/self/status", maximumBytes: 1 << 20)
    XCTAssertTrue(String(decoding: status, as: UTF8.self).contains("VmRSS"))
    XCTAssertThrowsError(try FileContents.read("/proc/self/status", maximumBytes: 16)) { error in
      XCTAssertEqual(
        error as? FileError, .tooLarge(path: "/proc/self/status", bytes: 17, limit: 16))
    }
  }

  func testSizeOnDiskOverTheLimitIsRefused() throws {
    let path = folder + "/big"
    try Data(count: 1001).write(to: URL(fileURLWithPath: path))
    XCTAssertEqual(try FileContents.read(path, maximumBytes: 1001).count, 1001)
    XCTAssertThrowsError(try FileContents.read(path, maximumBytes: 1000)) { error in
      XCTAssertEqual(error as? FileError, .tooLarge(path: path, bytes: 1001, limit: 1000))
    }
  }

  /// Regression (hostile input): a character device or any endless stream was
  /// read until memory ran out.
  func testDevicesFIFOsAndFoldersAreRefusedUnread() throws {
    XCTAssertThrowsError(try FileContents.read("/dev/zero", maximumBytes: 1 << 30)) { error in
      XCTAssertEqual(
        error as? FileError, .notRegularFile(path: "/dev/zero", kind: .characterDevice))
    }
    let fifo = folder + "/pipe"
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    // Opening a FIFO with no writer must not block.
    XCTAssertThrowsError(try FileContents.read(fifo, maximumBytes: 1 << 30)) { error in
      XCTAssertEqual(error as? FileError, .notRegularFile(path: fifo, kind: .fifo))
    }
    XCTAssertThrowsError(try FileContents.read(folder, maximumBytes: 100)) { error in
      XCTAssertEqual(error as? FileError, .notRegularFile(path: folder, kind: .directory))
      XCTAssertEqual("\(error)", "\(folder): is a directory, not a regular file")
    }
  }

  func testMissingAndUnreadableFiles() throws {
    let missing = folder + "/absent.png"
    XCTAssertThrowsError(try FileContents.read(missing, maximumBytes: 1)) { error in
      XCTAssertEqual(error as? FileError, .notFound(path: missing))
      XCTAssertEqual("\(error)", "\(missing): no such file")
    }
    let loop = folder + "/loop"
    XCTAssertEqual(symlink(loop, loop), 0)
    XCTAssertThrowsError(try FileContents.read(loop, maximumBytes: 1)) { error in
      XCTAssertEqual(
        error as? FileError, .cannotRead(path: loop, reason: "Too many levels of symbolic links"))
    }
    guard getuid() != 0 else { return }  // root reads anything
    let locked = folder + "/locked"
    _ = FileManager.default.createFile(atPath: locked, contents: Data([1]))
    XCTAssertEqual(chmod(locked, 0), 0)
    XCTAssertThrowsError(try FileContents.read(locked, maximumBytes: 1)) { error in
      XCTAssertEqual(error as? FileError, .cannotRead(path: locked, reason: "Permission denied"))
    }
  }
}
