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

  /// Images are augmented in parallel on the pool: the thread count
  /// changes no byte of the model.
  func testAugmentedModelDoesNotDependOnTheThreadCount() throws {
    let (folder, base) = try folderWithData()
    var models: [Data] = []
    for threads in ["1", "3"] {
      let path = folder.path + "/t\(threads).bin"
      let result = try TrainingCLI.run(
        base + [
          "--augment", "flip,shift=0.2,crop=2,rotate=30,brightness=0.2,fill=reflect",
          "--batch-size", "8", "--epochs", "2", "--threads", threads, "-o", path,
        ])
      XCTAssertEqual(result.status, 0, result.stderr)
      models.append(try Data(contentsOf: URL(fileURLWithPath: path)))
    }
    XCTAssertEqual(models[0], models[1])
  }

  func testScheduleEarlyStoppingAndSaveBestUsageErrors() throws {
    let (folder, base) = try folderWithData()
    let out = ["-o", folder.path + "/m.bin"]
    for (bad, message) in [
      (["--lr-schedule", "step:0:0.5"], "--lr-schedule: learning-rate schedule 'step:0:0.5': "),
      (["--lr-schedule", "linear"], "--lr-schedule: learning-rate schedule 'linear': use "),
      (["--early-stopping", "0"], "--early-stopping must be at least 1 epoch"),
      (["--save-best", "--validation-split", "0"], "--save-best watches val_loss"),
      (["--lr-schedule", "plateau", "--validation-split", "0"], "--lr-schedule plateau watches"),
    ] {
      let result = try TrainingCLI.run(base + bad + out)
      XCTAssertEqual(result.status, 64, "\(bad): \(result.stderr)")
      XCTAssertTrue(result.stderr.hasPrefix("convviz: error: " + message), result.stderr)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path + "/m.bin"))
  }

  /// Two epochs, then a resume to four, give the files of four straight
  /// epochs; the best model is beside the model and `evaluate` reads it.
  func testScheduledRunWithBestModelResumesBitIdentically() throws {
    let (folder, base) = try folderWithData()
    let options = [
      "--lr-schedule", "step:1:0.5", "--early-stopping", "3", "--save-best", "--batch-size", "4",
      "--validation-split", "0.3",
    ]
    let straight = try TrainingCLI.run(
      base + options + ["--epochs", "4", "-o", folder.path + "/straight/m.bin"])
    XCTAssertEqual(straight.status, 0, straight.stderr)
    XCTAssertTrue(straight.stdout.contains("epoch 2/4"), straight.stdout)
    XCTAssertTrue(
      straight.stdout.split(separator: "\n").contains {
        $0.hasPrefix("epoch 3/4") && $0.contains("lr 0.25")
      },
      straight.stdout)
    XCTAssertTrue(
      straight.stdout.contains("; lr-schedule step:1:0.5; early stopping 3; save best"),
      straight.stdout)
    XCTAssertTrue(straight.stdout.contains("wrote \(folder.path)/straight/m-best.bin (epoch "))

    let first = try TrainingCLI.run(
      base + options + ["--epochs", "2", "-o", folder.path + "/resumed/m.bin"])
    XCTAssertEqual(first.status, 0, first.stderr)
    let conflict = try TrainingCLI.run(
      [
        "train", "--resume", "--data", folder.path + "/three", "--early-stopping", "5", "--epochs",
        "4", "-o", folder.path + "/resumed/m.bin",
      ])
    XCTAssertEqual(conflict.status, 64, conflict.stderr)
    XCTAssertTrue(
      conflict.stderr.contains("--early-stopping 5 conflicts with the checkpoint's 3"),
      conflict.stderr)
    let resumed = try TrainingCLI.run(
      [
        "train", "--resume", "--data", folder.path + "/three", "--epochs", "4", "-o",
        folder.path + "/resumed/m.bin",
      ])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    for name in ["m.bin", "m-best.bin"] {
      XCTAssertEqual(
        try Data(contentsOf: URL(fileURLWithPath: folder.path + "/straight/" + name)),
        try Data(contentsOf: URL(fileURLWithPath: folder.path + "/resumed/" + name)), name)
    }
    let evaluate = try TrainingCLI.run(
      ["evaluate", folder.path + "/straight/m-best.bin", "--data", folder.path + "/three"])
    XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
    // The history gives each epoch's rate, 1 · 0.5^(epoch − 1), also for
    // the epochs a resumed run read back from its checkpoint.
    for run in ["straight", "resumed"] {
      let csv = try String(contentsOfFile: folder.path + "/\(run)/m.csv", encoding: .utf8)
      let rows = csv.split(separator: "\n").map {
        $0.split(separator: ",", omittingEmptySubsequences: false)
      }
      XCTAssertEqual(rows.first?.last, "learning_rate", csv)
      XCTAssertEqual(rows.count, 5, csv)
      for row in rows.dropFirst() {
        let epoch = try XCTUnwrap(Int(row[0]))
        XCTAssertEqual(Float(row.last ?? ""), Float(pow(0.5, Double(epoch - 1))), "\(run): \(csv)")
      }
    }
  }
}

/// `train --weight-decay`: a usage error out of range, a different model
/// than without it, and a resume that continues it bit for bit.
final class WeightDecayCommandTests: XCTestCase {
  func testWeightDecayChangesTheModelAndResumesBitIdentically() throws {
    let folder = try TrainingScratchFolder()
    try ClassesAndSizesCommandTests.writeFolder(folder.path + "/three", perClass: 6)
    let spec = try folder.write(
      Array("input 8 8 3\nconv2d 2 3 relu padding=same\nflatten\ndense 3 softmax\n".utf8),
      to: "s.txt")
    let base = [
      "train", "--model", spec, "--data", folder.path + "/three", "--batch-size", "4",
      "--optimizer", "adam",
    ]
    for bad in ["-0.1", "nan", "inf"] {
      let result = try TrainingCLI.run(
        base + ["--weight-decay", bad, "-o", folder.path + "/bad.bin"])
      XCTAssertEqual(result.status, 64, "\(bad): \(result.stderr)")
      XCTAssertTrue(
        result.stderr.hasPrefix("convviz: error: --weight-decay must be a finite number"),
        result.stderr)
    }
    func model(_ name: String, _ extra: [String]) throws -> Data {
      let result = try TrainingCLI.run(base + extra + ["-o", folder.path + "/\(name).bin"])
      XCTAssertEqual(result.status, 0, result.stderr)
      return try Data(contentsOf: URL(fileURLWithPath: folder.path + "/\(name).bin"))
    }
    let plain = try model("plain", ["--epochs", "3"])
    let decayed = try model("decayed", ["--epochs", "3", "--weight-decay", "0.5"])
    XCTAssertNotEqual(plain, decayed)
    _ = try model("resumed", ["--epochs", "2", "--weight-decay", "0.5"])
    let conflict = try TrainingCLI.run(
      base + [
        "--resume", "--weight-decay", "0.1", "--epochs", "3", "-o", folder.path + "/resumed.bin",
      ])
    XCTAssertEqual(conflict.status, 64, conflict.stderr)
    XCTAssertTrue(
      conflict.stderr.contains("--weight-decay 0.1 conflicts with the checkpoint's 0.5"),
      conflict.stderr)
    let resumed = try TrainingCLI.run(
      [
        "train", "--resume", "--data", folder.path + "/three", "--epochs", "3", "-o",
        folder.path + "/resumed.bin",
      ])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertTrue(resumed.stdout.contains("weight decay 0.5"), resumed.stdout)
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: folder.path + "/resumed.bin")), decayed)
  }
}
