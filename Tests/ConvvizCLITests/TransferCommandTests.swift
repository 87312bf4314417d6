import Foundation
import ImageCodecs
import XCTest

/// `train --from MODEL --freeze NODE` end to end on the bars of
/// `TrainEndToEndTests`: a backbone trained here, transferred to the same
/// classes, saved, and opened again by `evaluate`.
final class TransferCommandTests: XCTestCase {
  /// A trained backbone (`model.bin`) and the data folder.
  static func backbone(in folder: TrainingScratchFolder) throws -> (model: String, data: String) {
    try TrainEndToEndTests.writeBars(to: folder, count: 120)
    let spec = try folder.write(Array(TrainEndToEndTests.spec.utf8), to: "bars.txt")
    let data = folder.path + "/data"
    let model = folder.path + "/backbone.bin"
    let train = try TrainingCLI.run([
      "train", "--model", spec, "--data", data, "--epochs", "1", "--batch-size", "20",
      "--optimizer", "adam", "--seed", "3", "-o", model,
    ])
    XCTAssertEqual(train.status, 0, train.stderr)
    return (model, data)
  }

  func testTransferSavesAModelThatEvaluateOpensAndSameSeedSameBytes() throws {
    let folder = try TrainingScratchFolder()
    let (backbone, data) = try Self.backbone(in: folder)
    var files: [Data] = []
    for run in 0..<2 {
      let model = folder.path + "/out\(run)/model.bin"
      let result = try TrainingCLI.run([
        "train", "--from", backbone, "--freeze", "1", "--data", data, "--epochs", "3",
        "--unfreeze-after", "2", "--batch-size", "20", "--optimizer", "adam", "--seed", "4",
        "-o", model,
      ])
      XCTAssertEqual(result.status, 0, result.stderr)
      XCTAssertTrue(
        result.stdout.contains("frozen through max_pooling2d (features (None, 3, 3, 4))"),
        result.stdout)
      XCTAssertTrue(result.stdout.contains("fine-tuning after epoch 2 at × 0.1"), result.stdout)
      XCTAssertTrue(result.stdout.contains("epoch 3/3"), result.stdout)
      XCTAssertTrue(result.stdout.contains("test accuracy"), result.stdout)
      files.append(try Data(contentsOf: URL(fileURLWithPath: model)))

      let summary = try TrainingCLI.run(["summary", model])
      XCTAssertEqual(summary.status, 0, summary.stderr)
      // The backbone's rows 0 and 1, then the default head's.
      XCTAssertTrue(summary.stdout.contains("1  max_pooling2d (MaxPooling2D)"), summary.stdout)
      XCTAssertTrue(summary.stdout.contains("2  flatten (Flatten)"), summary.stdout)
      XCTAssertTrue(summary.stdout.contains("3  dense (Dense)"), summary.stdout)
      XCTAssertTrue(summary.stdout.contains("Trained: 3 epochs"), summary.stdout)
      let evaluate = try TrainingCLI.run([
        "evaluate", model, "--data", data, "-o", folder.path + "/confusion\(run).png",
      ])
      XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
    }
    XCTAssertEqual(files[0], files[1])
  }

  /// Features that do not fit beside the rest are computed every batch,
  /// with a note; a budget too small for the rest refuses the run.
  func testFeaturesThatDoNotFitAreComputedEveryBatch() throws {
    let folder = try TrainingScratchFolder()
    let (backbone, data) = try Self.backbone(in: folder)
    var notes: [Bool] = []
    for budget in ["64K", "20M"] {
      let result = try TrainingCLI.run([
        "train", "--from", backbone, "--freeze", "0", "--data", data, "--epochs", "1",
        "--batch-size", "1", "--max-memory", budget, "-o", folder.path + "/m\(budget).bin",
      ])
      XCTAssertEqual(result.status, 0, "\(budget): \(result.stderr)")
      notes.append(result.stderr.contains("computing them every batch instead"))
    }
    XCTAssertEqual(notes, [true, false])
    let refused = try TrainingCLI.run([
      "train", "--from", backbone, "--freeze", "0", "--data", data, "--epochs", "1",
      "--batch-size", "1", "--max-memory", "8K", "-o", folder.path + "/small.bin",
    ])
    XCTAssertEqual(refused.status, 1, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("raise with --max-memory"), refused.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path + "/small.bin"))
  }

  func testAnImportedBackboneIsSavedAsONNX() throws {
    let folder = try TrainingScratchFolder()
    let (backbone, data) = try Self.backbone(in: folder)
    let onnx = folder.path + "/backbone.onnx"
    let export = try TrainingCLI.run(["export", backbone, "-o", onnx])
    XCTAssertEqual(export.status, 0, export.stderr)
    let refused = try TrainingCLI.run([
      "train", "--from", onnx, "--freeze", "1", "--data", data, "--epochs", "1",
      "-o", folder.path + "/t.bin",
    ])
    XCTAssertEqual(refused.status, 64, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("give -o FILE.onnx"), refused.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path + "/t.bin"))

    let model = folder.path + "/t.onnx"
    let result = try TrainingCLI.run([
      "train", "--from", onnx, "--freeze", "1", "--data", data, "--epochs", "2",
      "--unfreeze-after", "1", "--batch-size", "20", "--optimizer", "adam", "-o", model,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let evaluate = try TrainingCLI.run([
      "evaluate", model, "--data", data, "-o", folder.path + "/confusion.png",
    ])
    XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
  }

  /// A Keras Functional model with branches, cut inside them (`join`
  /// concatenates two branches), trained on a folder of 12×10 photos and
  /// saved as ONNX, which `summary` and `evaluate` open.
  func testAKerasBackboneWithBranches() throws {
    let folder = try TrainingScratchFolder()
    for (label, name) in ["dark", "light"].enumerated() {
      try FileManager.default.createDirectory(
        atPath: folder.path + "/photos/\(name)", withIntermediateDirectories: true)
      for i in 0..<12 {
        let samples = (0..<(12 * 10 * 3)).map { k in
          UInt8(truncatingIfNeeded: label * 140 + (k * 7 + i * 13) % 90)
        }
        try ImageFile.write(
          Image(width: 10, height: 12, layout: .rgb, samples: samples),
          to: folder.path + "/photos/\(name)/\(i).png")
      }
    }
    let keras = KerasModelCommandTests.branches
    let model = folder.path + "/branches.onnx"
    let result = try TrainingCLI.run([
      "train", "--from", keras, "--freeze", "join", "--data", folder.path + "/photos",
      "--epochs", "2", "--unfreeze-after", "1", "--batch-size", "4", "--validation-split", "0",
      "--no-cache", "-o", model,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("features (None, 12, 10, 12)"), result.stdout)
    let summary = try TrainingCLI.run(["summary", model])
    XCTAssertEqual(summary.status, 0, summary.stderr)
    XCTAssertTrue(summary.stdout.contains("head/dense"), summary.stdout)
    XCTAssertFalse(summary.stdout.contains("logits"), summary.stdout)
    let evaluate = try TrainingCLI.run([
      "evaluate", model, "--data", folder.path + "/photos", "--no-cache",
      "-o", folder.path + "/confusion.png",
    ])
    XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
  }

  func testBadInputIsOneLineAndWritesNothing() throws {
    let folder = try TrainingScratchFolder()
    let (backbone, data) = try Self.backbone(in: folder)
    let model = folder.path + "/bad/model.bin"
    let cases: [([String], Int32, String)] = [
      (["--freeze", "99"], 64, "--freeze 99 is not a layer of"),
      (["--freeze", "nothing"], 64, "layers: 0 conv2d, 1 max_pooling2d"),
      (["--freeze", "1", "--head", "dense 2 softmax"], 64, "needs a flat input"),
      (["--freeze", "1", "--head", "flatten; dense 3 softmax"], 64, "ends in 3 outputs"),
      (["--freeze", "1", "--head", "conv2d 4 3"], 64, "not one score per class"),
      (["--freeze", "1", "--head", "input 3 3 4; flatten"], 64, "takes layers only"),
      (["--freeze", "1", "--resume"], 64, "--resume does not apply with --from"),
      (["--freeze", "1", "--unfreeze-after", "3"], 64, "leaves no epoch to fine-tune"),
      ([], 64, "--from needs --freeze"),
    ]
    for (extra, status, message) in cases {
      let result = try TrainingCLI.run(
        ["train", "--from", backbone, "--data", data, "--epochs", "2", "-o", model] + extra)
      XCTAssertEqual(result.status, status, "\(extra): \(result.stderr)")
      // One line (usage errors of the parser add the usage after it).
      let first = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
      XCTAssertTrue(first.contains(message), "\(extra): \(result.stderr)")
      XCTAssertFalse(FileManager.default.fileExists(atPath: model), "\(extra)")
    }
    let noFrom = try TrainingCLI.run(
      ["train", "--model", "mnist-cnn", "--freeze", "1", "--data", data, "-o", model])
    XCTAssertEqual(noFrom.status, 64)
    XCTAssertTrue(noFrom.stderr.contains("give --from MODEL"), noFrom.stderr)
  }
}
