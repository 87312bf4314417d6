import Foundation
import XCTest

/// Files that are not what they seem, through the built binary (issue 14's
/// hostile-input failures): devices and FIFOs as inputs and outputs,
/// permissions of rewritten files, corrupt JPEG data, two `train` runs on one
/// checkpoint, and temporary files left by a killed write.
final class HostileFileTests: XCTestCase {
  let camera = repositoryFile("samples/camera.png")
  let tinyModel = repositoryFile("Fuzz/corpus/model-file/tiny-conv.bin")

  /// Runs convviz, interrupting it after 60 s: a command that blocks on a
  /// FIFO or reads /dev/zero forever fails the test instead of hanging it.
  private func run(_ arguments: [String]) throws -> CommandResult {
    try ConvvizBinary.run(arguments, timeout: 60)
  }

  private func assertOneLineFailure(
    _ arguments: [String], mentioning needles: [String], file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    let result = try run(arguments)
    XCTAssertEqual(result.status, 1, result.standardError, file: file, line: line)
    XCTAssertEqual(
      result.standardError.split(separator: "\n").count, 1, result.standardError, file: file,
      line: line)
    XCTAssertTrue(result.standardError.hasPrefix("convviz: error: "), file: file, line: line)
    for needle in needles {
      XCTAssertTrue(
        result.standardError.contains(needle), "expected '\(needle)' in \(result.standardError)",
        file: file, line: line)
    }
  }

  /// Regression: an image argument that is a character device or a FIFO
  /// was read until memory ran out (`filter`, `predict`, `featuremaps`,
  /// `report --sample`). Now refused unread, and a FIFO without a writer
  /// does not block.
  func testDeviceAndFIFOImagesAreRefusedUnread() throws {
    let scratch = try ScratchFolder()
    let fifo = scratch.file("pipe.png")
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    for input in ["/dev/zero", fifo] {
      let kind =
        input == fifo
        ? "is a FIFO (named pipe), not a regular file"
        : "is a character device, not a regular file"
      try assertOneLineFailure(
        ["filter", input, "-o", scratch.file("out") + "/"], mentioning: [input, kind])
      try assertOneLineFailure(["predict", tinyModel, input], mentioning: [input, kind])
      try assertOneLineFailure(
        ["featuremaps", "--random", "2", input, "-o", scratch.file("maps")],
        mentioning: [input, kind])
      try assertOneLineFailure(
        ["report", tinyModel, "--sample", input, "-o", scratch.file("report.html")],
        mentioning: [input, kind])
    }
    XCTAssertEqual(scratch.contents("out"), [])
    XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("report.html")))
  }

  /// The same for a kernel file, a model spec and a model file: each is
  /// refused unread (a FIFO or /dev/zero as `--model` was read forever).
  func testDeviceAndFIFOKernelsAndModelsAreRefusedUnread() throws {
    let scratch = try ScratchFolder()
    let fifo = scratch.file("pipe.txt")
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    for input in ["/dev/zero", fifo] {
      try assertOneLineFailure(
        ["filter", "-k", input, camera, "-o", scratch.file("out") + "/"],
        mentioning: [input, "cannot read kernel file (is a "])
      try assertOneLineFailure(
        [
          "train", "--model", input, "--data", repositoryFile("data/mnist"), "-o",
          scratch.file("m.bin"),
        ], mentioning: [input, "not a regular file"])
      try assertOneLineFailure(["summary", input], mentioning: [input, "not a regular file"])
    }
  }

  /// Regression: `-o` naming a FIFO or a device replaced it with a regular
  /// file (as root, `-o /dev/null` would have replaced /dev/null).
  func testOutputsNeverReplaceWhatIsNotARegularFile() throws {
    let scratch = try ScratchFolder()
    let fifo = scratch.file("pipe.png")
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    let null = scratch.file("null.png")
    XCTAssertEqual(symlink("/dev/null", null), 0)
    try assertOneLineFailure(
      ["filter", camera, "-o", fifo], mentioning: [fifo, "only regular files are replaced"])
    try assertOneLineFailure(
      ["filter", camera, "-o", null], mentioning: [null, "is a character device"])
    let html = scratch.file("pipe.html")
    XCTAssertEqual(mkfifo(html, 0o600), 0)
    try assertOneLineFailure(["report", tinyModel, "-o", html], mentioning: [html])
    for path in [fifo, html] {
      var info = stat()
      XCTAssertEqual(lstat(path, &info), 0)
      XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "\(path) is still a FIFO")
    }
    XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: null), "/dev/null")
    XCTAssertEqual(scratch.contents(), ["null.png", "pipe.html", "pipe.png"])
  }

  /// Regression: rewriting a file (here in-place `filter`) left it 644.
  func testRewritingKeepsTheFilesMode() throws {
    let scratch = try ScratchFolder()
    let output = scratch.file("out.png")
    XCTAssertEqual(try run(["filter", "-k", "identity", camera, "-o", output]).status, 0)
    XCTAssertEqual(chmod(output, 0o600), 0)
    let rewrite = try run(["filter", "-k", "blur", "--overwrite-input", output, "-o", output])
    XCTAssertEqual(rewrite.status, 0, rewrite.standardError)
    var info = stat()
    XCTAssertEqual(stat(output, &info), 0)
    XCTAssertEqual(info.st_mode & 0o777, 0o600)
  }

  /// Regression: a JPEG truncated mid-scan with an end marker appended (or
  /// whose header claims more rows) decoded with a gray lower part and
  /// exit 0. Now an error naming `--lenient`, which accepts it with a warning.
  func testCorruptJPEGDataNeedsLenient() throws {
    let scratch = try ScratchFolder()
    for name in ["truncated-scan-eoi.jpg", "more-rows.jpg"] {
      let input = repositoryFile("Tests/ImageCodecsTests/Fixtures/crafted/" + name)
      try assertOneLineFailure(
        ["filter", input, "-o", scratch.file("strict.png")],
        mentioning: [name, "Corrupt JPEG data: premature end of data segment", "--lenient"])
      XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("strict.png")))
      let lenient = try run(["filter", "--lenient", input, "-o", scratch.file("lenient.png")])
      XCTAssertEqual(lenient.status, 0, lenient.standardError)
      XCTAssertTrue(
        lenient.standardError.hasPrefix("convviz: warning: ")
          && lenient.standardError.contains("\(name): JPEG has corrupt data, decoded anyway"),
        lenient.standardError)
      XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.file("lenient.png")))
    }
  }

  /// Regression: two `train` runs writing one `-o` both ran and the last
  /// won. The second is refused while the first holds the checkpoint's lock.
  func testSecondTrainOnOneCheckpointIsRefused() throws {
    let folder = try TrainingScratchFolder()
    try TrainEndToEndTests.writeBars(to: folder, count: 40)
    let spec = try folder.write(Array(TrainEndToEndTests.spec.utf8), to: "bars.txt")
    let model = folder.path + "/model.bin"
    // A running `train` holds flock on `.model.bin.lock`; so does this test.
    let lock = open(folder.path + "/.model.bin.lock", O_RDWR | O_CREAT, 0o600)
    XCTAssertEqual(flock(lock, LOCK_EX), 0)
    let arguments = [
      "train", "--model", spec, "--data", folder.path + "/data", "--epochs", "1", "-o", model,
    ]
    try assertOneLineFailure(arguments, mentioning: [model, "another process is writing"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: model))
    close(lock)
    XCTAssertEqual(try run(arguments).status, 0)
    XCTAssertTrue(FileManager.default.fileExists(atPath: model))
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path + "/.model.bin.lock"))
  }

  /// Regression: a `train` killed during a checkpoint write left a hidden
  /// temporary file; `--resume` removes it. The checkpoint's mode (600)
  /// survives the resumed run's rewrites.
  func testResumeRemovesStaleTemporariesAndKeepsTheMode() throws {
    let folder = try TrainingScratchFolder()
    try TrainEndToEndTests.writeBars(to: folder, count: 40)
    let spec = try folder.write(Array(TrainEndToEndTests.spec.utf8), to: "bars.txt")
    let model = folder.path + "/model.bin"
    let data = folder.path + "/data"
    let first = try run(["train", "--model", spec, "--data", data, "--epochs", "1", "-o", model])
    XCTAssertEqual(first.status, 0, first.standardError)
    XCTAssertEqual(chmod(model, 0o600), 0)
    let dead = try deadProcessID()
    let stale = folder.path + "/.model.bin.tmp-\(dead)-Qx7Lm2"
    XCTAssertTrue(FileManager.default.createFile(atPath: stale, contents: Data(count: 100)))
    let resumed = try run(["train", "--resume", "--data", data, "--epochs", "2", "-o", model])
    XCTAssertEqual(resumed.status, 0, resumed.standardError)
    XCTAssertTrue(resumed.standardOutput.contains("removed \(stale)"), resumed.standardOutput)
    XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
    var info = stat()
    XCTAssertEqual(stat(model, &info), 0)
    XCTAssertEqual(info.st_mode & 0o777, 0o600)
  }
}

/// The pid of a process that has exited (and been reaped).
private func deadProcessID() throws -> Int32 {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/bin/true")
  try process.run()
  process.waitUntilExit()
  return process.processIdentifier
}
