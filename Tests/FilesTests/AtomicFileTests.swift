import Files
import Foundation
import XCTest

final class AtomicFileTests: XCTestCase {
  var folder = ""

  override func setUpWithError() throws {
    folder = try makeScratchFolder("atomic")
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
      XCTAssertEqual(
        error as? FileError, .cannotCreate(path: path, reason: "No such file or directory"))
    }
  }

  /// The deterministic proof of a replace (rather than an in-place rewrite):
  /// a hard link to the old file still holds the old bytes afterwards, and
  /// the destination is a new inode.
  func testReplacesTheInodeAndLeavesHardLinksAlone() throws {
    let path = folder + "/model.bin"
    let oldLink = folder + "/old-link.bin"
    try AtomicFile.write([1, 1, 1, 1], to: path)
    XCTAssertEqual(link(path, oldLink), 0)
    let before = try inode(path)
    try AtomicFile.write([2, 2], to: path)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: oldLink)), Data([1, 1, 1, 1]))
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data([2, 2]))
    XCTAssertNotEqual(try inode(path), before)
    XCTAssertEqual(try inode(oldLink), before)
  }

  func testKeepsTheDestinationsMode() throws {
    let path = folder + "/secret.bin"
    try AtomicFile.write([1], to: path)
    XCTAssertEqual(chmod(path, 0o600), 0)
    try AtomicFile.write([2], to: path)
    XCTAssertEqual(try mode(path), 0o600)
    XCTAssertEqual(chmod(path, 0o640), 0)
    try AtomicFile.write([3], to: path)
    XCTAssertEqual(try mode(path), 0o640)
  }

  func testNewFileGetsTheModeAnyNewFileGets() throws {
    let reference = folder + "/reference"
    let fd = open(reference, O_WRONLY | O_CREAT | O_EXCL, 0o666)
    XCTAssertGreaterThanOrEqual(fd, 0)
    close(fd)
    let path = folder + "/new.bin"
    try AtomicFile.write([1], to: path)
    XCTAssertEqual(try mode(path), try mode(reference))
  }

  func testDirectoryDestinationIsRefusedBeforeWriting() throws {
    let path = folder + "/dir"
    try FileManager.default.createDirectory(
      atPath: path + "/inner", withIntermediateDirectories: true)
    XCTAssertThrowsError(try AtomicFile.write([1], to: path)) { error in
      XCTAssertEqual(error as? FileError, .notReplaceable(path: path, kind: .directory))
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["dir"])
  }

  func testFIFODestinationIsRefusedAndStaysAFIFO() throws {
    let path = folder + "/pipe"
    XCTAssertEqual(mkfifo(path, 0o600), 0)
    XCTAssertThrowsError(try AtomicFile.write([1], to: path)) { error in
      XCTAssertEqual(error as? FileError, .notReplaceable(path: path, kind: .fifo))
    }
    XCTAssertEqual(Path.kind(of: path), .fifo)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["pipe"])
  }

  /// A character device is refused: a link to /dev/null is checked (nothing
  /// is written to the real device), and as root a device node made here.
  func testCharacterDeviceDestinationIsRefused() throws {
    let link = folder + "/null-link"
    XCTAssertEqual(symlink("/dev/null", link), 0)
    XCTAssertThrowsError(try AtomicFile.write([1], to: link)) { error in
      XCTAssertEqual(error as? FileError, .notReplaceable(path: link, kind: .characterDevice))
    }
    XCTAssertEqual(Path.kind(of: "/dev/null"), .characterDevice)
    XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "/dev/null")
    guard getuid() == 0 else { return }
    let node = folder + "/null-node"
    // makedev(1, 3), the numbers of /dev/null.
    guard mknod(node, S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 else { return }
    XCTAssertThrowsError(try AtomicFile.write([1], to: node)) { error in
      XCTAssertEqual(error as? FileError, .notReplaceable(path: node, kind: .characterDevice))
    }
    XCTAssertEqual(Path.kind(of: node), .characterDevice)
  }

  func testLinkToARegularFileReplacesItsTarget() throws {
    let target = folder + "/runs-model-3.bin"
    let link = folder + "/model.bin"
    try AtomicFile.write([1], to: target)
    XCTAssertEqual(symlink("runs-model-3.bin", link), 0)
    try AtomicFile.write([2], to: link)
    XCTAssertEqual(
      try FileManager.default.destinationOfSymbolicLink(atPath: link), "runs-model-3.bin")
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), Data([2]))
    let dangling = folder + "/dangling"
    XCTAssertEqual(symlink("nowhere", dangling), 0)
    XCTAssertThrowsError(try AtomicFile.write([1], to: dangling)) { error in
      XCTAssertEqual(error as? FileError, .notReplaceable(path: dangling, kind: .symbolicLink))
    }
  }

  /// A process killed between creating and renaming its temporary file
  /// leaves it behind; the next write of the same destination removes it,
  /// but not the temporary file of a live process or files of other names.
  func testNextWriteRemovesStaleTemporariesOfDeadProcesses() throws {
    let path = folder + "/model.bin"
    let dead = try deadProcessID()
    let stale = folder + "/.model.bin.tmp-\(dead)-Ab3dE9"
    let live = folder + "/.model.bin.tmp-\(getpid())-xYz123"
    let foreign = [folder + "/.model.bin.tmp-abcdef", folder + "/.other.bin.tmp-\(dead)-Ab3dE9"]
    for file in [stale, live] + foreign {
      _ = FileManager.default.createFile(atPath: file, contents: Data([9]))
    }
    try AtomicFile.write([1], to: path)
    XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
    for file in [live] + foreign {
      XCTAssertTrue(FileManager.default.fileExists(atPath: file), file)
    }

    _ = FileManager.default.createFile(atPath: stale, contents: Data([9]))
    XCTAssertEqual(AtomicFile.removeStaleTemporaries(of: path), [stale])
    XCTAssertEqual(AtomicFile.removeStaleTemporaries(of: path), [])
  }

  private func inode(_ path: String) throws -> UInt64 {
    var info = stat()
    guard stat(path, &info) == 0 else { throw CocoaError(.fileNoSuchFile) }
    return UInt64(info.st_ino)
  }

  private func mode(_ path: String) throws -> mode_t {
    var info = stat()
    guard stat(path, &info) == 0 else { throw CocoaError(.fileNoSuchFile) }
    return info.st_mode & 0o7777
  }
}

/// The pid of a process that has exited (and been reaped).
func deadProcessID() throws -> Int32 {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/bin/true")
  try process.run()
  process.waitUntilExit()
  return process.processIdentifier
}

/// A fresh folder under the system temporary directory.
func makeScratchFolder(_ name: String) throws -> String {
  let folder = NSTemporaryDirectory() + "files-\(name)-\(UUID().uuidString)"
  try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
  return folder
}
