import Foundation
import XCTest

/// `train`'s outputs and `--resume`: a model is replaced only when asked,
/// outputs never collide, and a resumed run keeps the checkpoint's settings.
final class TrainOutputTests: XCTestCase {
  /// A folder with the bars data set and spec of `TrainEndToEndTests`.
  func barsFolder(count: Int = 40) throws -> (TrainingScratchFolder, data: String, spec: String) {
    let folder = try TrainingScratchFolder()
    try TrainEndToEndTests.writeBars(to: folder, count: count)
    let spec = try folder.write(Array(TrainEndToEndTests.spec.utf8), to: "bars.txt")
    return (folder, folder.path + "/data", spec)
  }

  func train(_ data: String, _ extra: [String]) throws -> TrainingCLI.Result {
    try TrainingCLI.run(["train", "--data", data, "--batch-size", "10"] + extra)
  }

  /// Regression: `-o m/model.csv` (or `--history` equal to `-o`) wrote the
  /// history over the model and reported success.
  func testOutputsThatCollideAreRefusedBeforeTraining() throws {
    let (folder, data, spec) = try barsFolder()
    for extra in [
      ["-o", folder.path + "/m/model.csv"],
      ["-o", folder.path + "/m/model.bin", "--history", folder.path + "/m/model.bin"],
      ["-o", folder.path + "/m/model.bin", "--history", folder.path + "/m/./model-loss.png"],
    ] {
      let result = try train(data, ["--model", spec, "--epochs", "1"] + extra)
      XCTAssertEqual(result.status, 64, "\(extra): \(result.stderr)")
      XCTAssertTrue(result.stderr.hasPrefix("convviz: error: "), result.stderr)
      XCTAssertTrue(result.stderr.contains("are the same file"), result.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path + "/m"), "\(extra)")
    }
    let spec2 = try train(data, ["--model", spec, "--epochs", "1", "-o", spec])
    XCTAssertEqual(spec2.status, 64, spec2.stderr)
    XCTAssertTrue(spec2.stderr.contains("would replace the model spec"), spec2.stderr)
  }

  /// `train` over an existing model asks for --overwrite or --resume; a
  /// folder as -o gets model.bin inside.
  func testAnExistingModelIsReplacedOnlyWithOverwrite() throws {
    let (folder, data, spec) = try barsFolder()
    let first = try train(data, ["--model", spec, "--epochs", "1", "-o", folder.path + "/"])
    XCTAssertEqual(first.status, 0, first.stderr)
    XCTAssertTrue(
      first.stdout.contains("(1 epoch, with checkpoint)"), "not '1 epochs': \(first.stdout)")
    let model = folder.path + "/model.bin"
    let bytes = try Data(contentsOf: URL(fileURLWithPath: model))

    let again = try train(data, ["--model", spec, "--epochs", "1", "--seed", "4", "-o", model])
    XCTAssertEqual(again.status, 64, again.stderr)
    XCTAssertTrue(
      again.stderr.contains("pass --overwrite to replace it, or --resume"), again.stderr)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model)), bytes)

    let replaced = try train(
      data, ["--model", spec, "--epochs", "1", "--seed", "4", "-o", model, "--overwrite"])
    XCTAssertEqual(replaced.status, 0, replaced.stderr)
    XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: model)), bytes)

    let both = try train(data, ["--resume", "--overwrite", "-o", model])
    XCTAssertEqual(both.status, 64, both.stderr)
  }

  /// Regression: --resume silently ignored --batch-size, --seed, --rho and
  /// the like. The checkpoint's own values are accepted (scripts repeat
  /// their command line); others are refused, naming both.
  func testResumeRefusesOptionsThatContradictTheCheckpoint() throws {
    let (folder, data, spec) = try barsFolder()
    let model = folder.path + "/model.bin"
    let first = try train(
      data, ["--model", spec, "--epochs", "1", "--seed", "3", "--optimizer", "sgd", "-o", model])
    XCTAssertEqual(first.status, 0, first.stderr)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: model))
    let cases: [([String], String)] = [
      (["--batch-size", "20"], "--batch-size 20 conflicts with the checkpoint's 10"),
      (["--seed", "4"], "--seed 4 conflicts with the checkpoint's 3"),
      (
        ["--validation-split", "0.2"], "--validation-split 0.2 conflicts with the checkpoint's 0.1"
      ),
      (["--optimizer", "adam"], "--optimizer adam conflicts with the checkpoint's sgd"),
      (["--learning-rate", "0.5"], "--learning-rate 0.5 conflicts with the checkpoint's 0.01"),
      (["--rho", "0.9"], "the checkpoint's optimizer is sgd: --rho applies to"),
      (["--model", "mnist-mlp"], "--model mnist-mlp is not the checkpoint's model"),
    ]
    for (extra, message) in cases {
      let result = try TrainingCLI.run(
        ["train", "--data", data, "--epochs", "2", "--resume", "-o", model] + extra)
      XCTAssertEqual(result.status, 64, "\(extra): \(result.stderr)")
      XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
      XCTAssertTrue(result.stderr.contains(message), "\(extra): \(result.stderr)")
      XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model)), bytes, "\(extra)")
    }
    let same = try train(
      data,
      [
        "--model", spec, "--epochs", "2", "--seed", "3", "--optimizer", "sgd", "--resume", "-o",
        model,
      ])
    XCTAssertEqual(same.status, 0, same.stderr)
    XCTAssertTrue(same.stdout.contains("resuming \(model) after epoch 1 of 2"), same.stdout)
  }

  /// `--resume` of a finished run prints one line and touches nothing.
  func testResumingAFinishedRunTouchesNothing() throws {
    let (folder, data, spec) = try barsFolder()
    let model = folder.path + "/model.bin"
    XCTAssertEqual(try train(data, ["--model", spec, "--epochs", "1", "-o", model]).status, 0)
    try FileManager.default.removeItem(atPath: folder.path + "/model.csv")
    let attributes = try FileManager.default.attributesOfItem(atPath: model)
    let done = try TrainingCLI.run(
      ["train", "--data", folder.path + "/no-such-data", "--epochs", "1", "--resume", "-o", model])
    XCTAssertEqual(done.status, 0, done.stderr)
    XCTAssertEqual(done.stdout, "\(model) has already trained 1 epoch; nothing left to train\n")
    XCTAssertEqual(done.stderr, "")
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path + "/model.csv"))
    let after = try FileManager.default.attributesOfItem(atPath: model)
    XCTAssertEqual(after[.modificationDate] as? Date, attributes[.modificationDate] as? Date)
  }

  /// The data set's format option is `--data-format`: `--format` names an
  /// output encoding everywhere.
  func testDataFormatOption() throws {
    let (folder, data, spec) = try barsFolder()
    let model = folder.path + "/model.bin"
    let ok = try train(
      data, ["--model", spec, "--epochs", "1", "--data-format", "mnist", "-o", model])
    XCTAssertEqual(ok.status, 0, ok.stderr)
    let old = try TrainingCLI.run(["evaluate", model, "--data", data, "--format", "mnist"])
    XCTAssertEqual(old.status, 64, old.stderr)
    let wrong = try TrainingCLI.run(["evaluate", model, "--data", data, "--data-format", "cifar10"])
    XCTAssertEqual(wrong.status, 1, wrong.stderr)
  }

  /// More than one piece of 1,000 samples: the pieces add up to the same
  /// result as the trainer's own evaluation of the test split.
  func testEvaluateInPiecesMatchesTheTrainersTestResult() throws {
    let (folder, data, spec) = try barsFolder(count: 4_400)
    let model = folder.path + "/model.bin"
    let trained = try train(
      data, ["--model", spec, "--epochs", "1", "--batch-size", "50", "-o", model])
    XCTAssertEqual(trained.status, 0, trained.stderr)
    let evaluated = try TrainingCLI.run(
      ["evaluate", model, "--data", data, "-o", folder.path + "/c.png"])
    XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
    XCTAssertTrue(evaluated.stdout.contains("test split, 1100 samples"), evaluated.stdout)
    let loss = try XCTUnwrap(TrainEndToEndTests.number(after: "test loss ", in: trained.stdout))
    let accuracy = try XCTUnwrap(
      TrainEndToEndTests.number(after: "test accuracy ", in: trained.stdout))
    XCTAssertEqual(TrainEndToEndTests.number(after: "loss ", in: evaluated.stdout), loss)
    XCTAssertEqual(TrainEndToEndTests.number(after: "accuracy ", in: evaluated.stdout), accuracy)
  }
}
