import Foundation
import XCTest

@testable import convviz

/// `train --augment` (and the other accuracy options of issue 12) through
/// the built binary: usage errors are one line, resumes keep the settings.
final class TrainOptionsCommandTests: XCTestCase {
  private func folderWithData() throws -> (TrainingScratchFolder, [String]) {
    let folder = try TrainingScratchFolder()
    try ClassesAndSizesCommandTests.writeFolder(folder.path + "/three", perClass: 6)
    let spec = try folder.write(
      Array("input 8 8 3\nconv2d 2 3 relu padding=same\nflatten\ndense 3 softmax\n".utf8),
      to: "s.txt")
    return (folder, ["train", "--model", spec, "--data", folder.path + "/three"])
  }

  func testOutOfRangeAugmentationIsAOneLineUsageError() throws {
    let (folder, base) = try folderWithData()
    for bad in ["shift=0.7", "rotate=400", "brightness=1.5", "crop=100", "zoom", "fill=x"] {
      let result = try TrainingCLI.run(base + ["--augment", bad, "-o", folder.path + "/m.bin"])
      XCTAssertEqual(result.status, 64, "\(bad): \(result.stderr)")
      let first = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
      XCTAssertTrue(first.hasPrefix("convviz: error: --augment \(bad): "), result.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path + "/m.bin"))
    }
  }

  func testAugmentedRunIsReproducibleAndResumeKeepsTheAugmentation() throws {
    let (folder, base) = try folderWithData()
    let args = base + ["--augment", "standard", "--epochs", "2", "--batch-size", "4"]
    let first = try TrainingCLI.run(args + ["-o", folder.path + "/a.bin"])
    XCTAssertEqual(first.status, 0, first.stderr)
    XCTAssertTrue(first.stdout.contains("; augment flip,shift=0.1"), first.stdout)
    let second = try TrainingCLI.run(args + ["-o", folder.path + "/b.bin"])
    XCTAssertEqual(second.status, 0, second.stderr)
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: folder.path + "/a.bin")),
      try Data(contentsOf: URL(fileURLWithPath: folder.path + "/b.bin")))

    let conflict = try TrainingCLI.run(
      base + ["--resume", "--augment", "flip", "--epochs", "3", "-o", folder.path + "/a.bin"])
    XCTAssertEqual(conflict.status, 64, conflict.stderr)
    XCTAssertTrue(
      conflict.stderr.contains("--augment flip conflicts with the checkpoint's flip,shift=0.1"),
      conflict.stderr)
    let resumed = try TrainingCLI.run(
      [
        "train", "--resume", "--data", folder.path + "/three", "--epochs", "3", "-o",
        folder.path + "/a.bin",
      ])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertTrue(resumed.stdout.contains("; augment flip,shift=0.1"), resumed.stdout)
  }
}
