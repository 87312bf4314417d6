import Foundation
import ImageCodecs
import XCTest

/// `--skip-bad`, `--no-cache` and `--cache-dir` on the commands that read
/// image folders.
final class ImageFolderReadingCommandTests: XCTestCase {
  private func train(
    _ data: String, spec: String, to model: String, _ extra: [String]
  ) throws -> TrainingCLI.Result {
    try TrainingCLI.run(
      [
        "train", "--model", spec, "--data", data, "--epochs", "1", "--batch-size", "8",
        "--seed", "5", "-o", model, "--overwrite",
      ] + extra)
  }

  func testSkipBadNamesEachSkippedFileAndTrainsOnTheRest() throws {
    let folder = try TrainingScratchFolder()
    let data = try ImageFolderFixture.write(to: folder, classes: ["h", "v"])
    let spec = try folder.write(Array(TrainEndToEndTests.spec.utf8), to: "bars.txt")
    let bad = try folder.write([0xff, 0xd8, 0xff, 0, 1], to: "images/v/broken.jpg")
    let model = folder.path + "/model.bin"
    let refused = try train(data, spec: spec, to: model, ["--no-cache"])
    XCTAssertEqual(refused.status, 1, refused.stderr)
    XCTAssertTrue(refused.stderr.contains(bad), refused.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: model))

    let skipping = try train(data, spec: spec, to: model, ["--no-cache", "--skip-bad"])
    XCTAssertEqual(skipping.status, 0, skipping.stderr)
    let lines = skipping.stderr.split(separator: "\n")
    XCTAssertTrue(
      lines.contains { $0.hasPrefix("convviz: warning: skipped \(bad): ") }, skipping.stderr)
    XCTAssertTrue(
      lines.contains { $0 == "convviz: note: 1 image skipped (--skip-bad)" }, skipping.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: model))
  }

  func testCacheIsWrittenThenUsedAndGivesTheSameModel() throws {
    let folder = try TrainingScratchFolder()
    let data = try ImageFolderFixture.write(to: folder, classes: ["h", "v"])
    let spec = try folder.write(Array(TrainEndToEndTests.spec.utf8), to: "bars.txt")
    let cache = folder.path + "/cache"
    let first = try train(data, spec: spec, to: folder.path + "/a.bin", ["--cache-dir", cache])
    XCTAssertEqual(first.status, 0, first.stderr)
    XCTAssertFalse(first.stderr.contains("cache"), first.stderr)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: cache).filter {
        $0.hasSuffix(".cvzdata")
      }.count, 1)
    let second = try train(data, spec: spec, to: folder.path + "/b.bin", ["--cache-dir", cache])
    XCTAssertEqual(second.status, 0, second.stderr)
    XCTAssertTrue(
      second.stderr.contains("note: decoded images from the cache \(cache)/"), second.stderr)
    let uncached = try train(data, spec: spec, to: folder.path + "/c.bin", ["--no-cache"])
    XCTAssertEqual(uncached.status, 0, uncached.stderr)
    XCTAssertFalse(uncached.stderr.contains("cache"), uncached.stderr)
    let a = try Data(contentsOf: URL(fileURLWithPath: folder.path + "/a.bin"))
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder.path + "/b.bin")), a)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder.path + "/c.bin")), a)
    // A damaged cache is rebuilt with a one-line notice.
    let name = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: cache).first)
    try Data([0, 1, 2]).write(to: URL(fileURLWithPath: cache + "/" + name))
    let third = try train(data, spec: spec, to: folder.path + "/d.bin", ["--cache-dir", cache])
    XCTAssertEqual(third.status, 0, third.stderr)
    XCTAssertTrue(
      third.stderr.contains(
        "note: rebuilding the decoded cache \(cache)/\(name): it is not a convviz cache file"),
      third.stderr)
  }

  func testContradictoryCacheOptionsAreAUsageError() throws {
    let result = try TrainingCLI.run([
      "train", "--model", "mnist-cnn", "--data", "d", "--no-cache", "--cache-dir", "c",
    ])
    XCTAssertEqual(result.status, 64, result.stderr)
    XCTAssertTrue(result.stderr.contains("--no-cache and --cache-dir"), result.stderr)
  }
}
