import Foundation
import ImageCodecs
import ModelFormats
import Tensors
import XCTest

@testable import convviz

/// Issue 15 through the binary: classes matched by name, presets sized to
/// the data, inputs of any size; and issue 14's checks before training.
final class ClassesAndSizesCommandTests: XCTestCase {
  static let classes = ["airplane", "cat", "ship"]

  /// An image folder of 8×8 colour pictures: airplanes red, cats green,
  /// ships blue, with a little deterministic noise; `perClass` of each,
  /// under `root/<class>/`. `sizes` varies the picture size by index.
  static func writeFolder(
    _ root: String, classes: [String] = classes, perClass: Int = 6,
    size: (Int) -> (Int, Int) = { _ in (8, 8) }
  ) throws {
    for name in classes {
      let channel = Self.classes.firstIndex(of: name) ?? 1
      try FileManager.default.createDirectory(
        atPath: root + "/" + name, withIntermediateDirectories: true)
      for i in 0..<perClass {
        let (w, h) = size(i)
        var samples: [UInt8] = []
        for p in 0..<(w * h) {
          for c in 0..<3 { samples.append(c == channel ? 200 : UInt8((p * 7 + i * 13) % 50)) }
        }
        try ImageFile.write(
          Image(width: w, height: h, layout: .rgb, samples: samples),
          to: root + "/\(name)/\(i).png")
      }
    }
  }

  static let spec = "input 8 8 3\nflatten\ndense 3 softmax\n"

  /// A model trained on the three classes, and its folder.
  private func trainedModel(_ folder: TrainingScratchFolder) throws -> String {
    try Self.writeFolder(folder.path + "/three")
    let spec = try folder.write(Array(Self.spec.utf8), to: "colours.txt")
    let model = folder.path + "/m.bin"
    let result = try TrainingCLI.run([
      "train", "--model", spec, "--data", folder.path + "/three", "--epochs", "6",
      "--batch-size", "6", "--optimizer", "adam", "--learning-rate", "0.05",
      "--validation-split", "0", "-o", model,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    return model
  }

  func testEvaluateMatchesClassesByName() throws {
    let folder = try TrainingScratchFolder()
    let model = try trainedModel(folder)
    XCTAssertEqual(try ModelFile.read(from: model).metadata.classNames, Self.classes)

    // Only cat/ and ship/: by position the cats would be scored as airplanes.
    try Self.writeFolder(folder.path + "/two", classes: ["cat", "ship"])
    let picture = ["-o", folder.path + "/confusion.png"]
    let two = try TrainingCLI.run(["evaluate", model, "--data", folder.path + "/two"] + picture)
    XCTAssertEqual(two.status, 0, two.stderr)
    XCTAssertTrue(two.stdout.contains("accuracy 1.0000 (12/12)"), two.stdout)
    XCTAssertTrue(two.stdout.contains("airplane         -  not in the data"), two.stdout)
    XCTAssertTrue(two.stdout.contains("cat         1.0000            6/6"), two.stdout)

    // A class the model does not know is an error naming it, or skipped.
    try Self.writeFolder(folder.path + "/dogs", classes: ["cat", "dog"])
    let dogs = try TrainingCLI.run(
      ["evaluate", model, "--data", folder.path + "/dogs"] + picture)
    XCTAssertEqual(dogs.status, 1)
    XCTAssertTrue(dogs.stderr.hasPrefix("convviz: error: "), dogs.stderr)
    XCTAssertTrue(dogs.stderr.contains("does not know: dog (6 samples)"), dogs.stderr)
    XCTAssertEqual(dogs.stderr.split(separator: "\n").count, 1)
    let skipped = try TrainingCLI.run(
      [
        "evaluate", model, "--data", folder.path + "/dogs", "--ignore-unknown-classes",
      ] + picture)
    XCTAssertEqual(skipped.status, 0, skipped.stderr)
    XCTAssertTrue(
      skipped.stdout.contains("skipped 6 samples of classes the model does not know: dog (6)"),
      skipped.stdout)
    XCTAssertTrue(skipped.stdout.contains("(6/6)"), skipped.stdout)

    // --labels renames the data's classes, which then match by name.
    let names = try folder.write(Array("ship\ncat\n".utf8), to: "names.txt")
    let renamed = try TrainingCLI.run(
      [
        "evaluate", model, "--data", folder.path + "/two", "--labels", names,
      ] + picture)
    XCTAssertEqual(renamed.status, 0, renamed.stderr)
    XCTAssertTrue(renamed.stdout.contains("accuracy 0.0000 (0/12)"), renamed.stdout)

    // The report uses the same matching and the same evaluation.
    let page = folder.path + "/report.html"
    let report = try TrainingCLI.run([
      "report", model, "--data", folder.path + "/two", "-o", page,
    ])
    XCTAssertEqual(report.status, 0, report.stderr)
    let html = try String(contentsOfFile: page, encoding: .utf8)
    XCTAssertTrue(
      html.contains("\(folder.path)/two (no separate test split): 12 samples, accuracy 100.00%"),
      html)
    XCTAssertTrue(html.contains("Not in the data, so not scored: airplane."), html)
  }

  /// A preset takes the data's channels and classes and says so; the model
  /// then knows only the data's classes.
  func testPresetIsSizedToTheDataAndSaysSo() throws {
    let folder = try TrainingScratchFolder()
    try Self.writeFolder(folder.path + "/three", perClass: 3)
    let model = folder.path + "/p.bin"
    let train = try TrainingCLI.run([
      "train", "--model", "mnist-mlp", "--data", folder.path + "/three", "--epochs", "1",
      "--batch-size", "4", "-o", model,
    ])
    XCTAssertEqual(train.status, 0, train.stderr)
    XCTAssertTrue(
      train.stdout.contains(
        "parameters; input takes the data's 3 channels, last layer sized to the data's 3 classes)"),
      train.stdout)
    let file = try ModelFile.read(from: model)
    XCTAssertEqual(file.spec.classCount, 3)
    XCTAssertEqual(file.spec.input, .image(height: 28, width: 28, channels: 3))
    let summary = try TrainingCLI.run(["summary", model])
    XCTAssertTrue(summary.stdout.contains("(None, 3)"), summary.stdout)
    let predict = try TrainingCLI.run([
      "predict", model, folder.path + "/three/cat/0.png", "--top", "10",
    ])
    XCTAssertEqual(predict.status, 0, predict.stderr)
    XCTAssertEqual(predict.stdout.split(separator: " ").count, 1 + 2 * 3, "three classes only")
  }

  func testSpecWhoseOutputDisagreesWithTheClassesIsRefusedBeforeTraining() throws {
    let folder = try TrainingScratchFolder()
    try Self.writeFolder(folder.path + "/three", perClass: 2)
    let spec = try folder.write(Array("input 8 8 3\nflatten\ndense 2 softmax\n".utf8), to: "s.txt")
    let model = folder.path + "/s.bin"
    let result = try TrainingCLI.run([
      "train", "--model", spec, "--data", folder.path + "/three", "-o", model,
    ])
    XCTAssertEqual(result.status, 1)
    XCTAssertEqual(
      result.stderr,
      "convviz: error: the model's last layer has 2 outputs but the data has 3 classes "
        + "(airplane, cat, ship); end the spec with `dense 3 softmax` "
        + "(presets size their last layer to the data)\n")
    XCTAssertFalse(result.stdout.contains("epoch 1"), result.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: model))
  }

  /// Training on a folder of mixed sizes works (fill by default); the mode
  /// is stored and later commands apply it unless told otherwise.
  func testMixedSizesAreResizedAndTheModeIsStored() throws {
    let folder = try TrainingScratchFolder()
    try Self.writeFolder(folder.path + "/mixed", perClass: 3) { i in [(8, 8), (12, 9), (5, 16)][i] }
    let spec = try folder.write(Array(Self.spec.utf8), to: "s.txt")
    let model = folder.path + "/r.bin"
    let strict = try TrainingCLI.run([
      "train", "--model", spec, "--data", folder.path + "/mixed", "--resize", "none",
      "-o", model, "--epochs", "1",
    ])
    XCTAssertEqual(strict.status, 1, "--resize none keeps the strict behaviour")
    let train = try TrainingCLI.run([
      "train", "--model", spec, "--data", folder.path + "/mixed", "--resize", "stretch",
      "-o", model, "--epochs", "1",
    ])
    XCTAssertEqual(train.status, 0, train.stderr)
    XCTAssertEqual(try ModelFile.read(from: model).metadata.resize, .stretch)
    let photo = folder.path + "/mixed/cat/2.png"  // 5×16
    XCTAssertEqual(try TrainingCLI.run(["predict", model, photo]).status, 0)
    let none = try TrainingCLI.run(["predict", model, photo, "--resize", "none"])
    XCTAssertEqual(none.status, 1)
    XCTAssertTrue(none.stderr.contains("image is 5×16 but the model takes 8×8"), none.stderr)
  }

  /// Regression (issue 9): predict fed the model float luma of 16-bit
  /// samples while featuremaps fed 8-bit-rounded integer luma.
  func testPredictAndFeatureMapsGiveTheModelTheSameInput() throws {
    var samples16: [UInt16] = []
    for i in 0..<(5 * 4 * 3) { samples16.append(UInt16((i * 7919) % 65536)) }
    let photo = Image(width: 5, height: 4, layout: .rgb, samples16: samples16)
    for channels in [1, 3] {
      let predicted = try Predict.modelInput(
        photo, path: "p.png", channels: channels, height: 4, width: 5, resize: .fill)
      let mapped = FeatureMapsCommand.modelInput(photo, channels: channels)
      XCTAssertEqual(predicted, mapped, "\(channels) channels")
      XCTAssertEqual(predicted.shape, Shape(1, channels, 4, 5))
    }
    let eight = Image(width: 2, height: 1, layout: .rgb, samples: [255, 0, 0, 10, 20, 30])
    XCTAssertEqual(
      try Predict.modelInput(eight, path: "p", channels: 1, height: 1, width: 2, resize: .none),
      FeatureMapsCommand.modelInput(eight, channels: 1))
  }

  func testHyperParametersAndSnapshotsAreCheckedBeforeTraining() throws {
    let folder = try TrainingScratchFolder()
    try Self.writeFolder(folder.path + "/three", perClass: 2)
    let spec = try folder.write(Array(Self.spec.utf8), to: "s.txt")
    let base = ["train", "--model", spec, "--data", folder.path + "/three"]
    for value in ["inf", "nan", "0"] {
      let result = try TrainingCLI.run(
        base + ["--learning-rate", value, "-o", folder.path + "/x.bin"])
      XCTAssertEqual(result.status, 64, "--learning-rate \(value): \(result.stderr)")
      XCTAssertTrue(
        result.stderr.contains("--learning-rate must be a finite number above 0"), result.stderr)
    }
    let epsilon = try TrainingCLI.run(base + ["--epsilon", "inf"])
    XCTAssertEqual(epsilon.status, 64, epsilon.stderr)

    // No convolution to draw: refused before the first epoch, not after the last.
    let snapshots = try TrainingCLI.run(
      base + ["--snapshot-every", "1", "-o", folder.path + "/snap.bin"])
    XCTAssertEqual(snapshots.status, 64, snapshots.stderr)
    XCTAssertTrue(snapshots.stderr.contains("--snapshot-every"), snapshots.stderr)
    XCTAssertFalse(snapshots.stdout.contains("epoch 1"), snapshots.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path + "/snap.bin"))
  }

  /// Regression (issue 14): a diverging run printed `loss -nan`, wrote NaN
  /// weights and exited 0.
  func testDivergingRunStopsWithOneLineAndWritesNoModel() throws {
    let folder = try TrainingScratchFolder()
    try Self.writeFolder(folder.path + "/three", perClass: 6)
    let spec = try folder.write(Array(Self.spec.utf8), to: "s.txt")
    let model = folder.path + "/nan.bin"
    let result = try TrainingCLI.run([
      "train", "--model", spec, "--data", folder.path + "/three", "--optimizer", "adam",
      "--learning-rate", "1e38", "--batch-size", "4", "--epochs", "3", "-o", model,
    ])
    XCTAssertEqual(result.status, 1, result.stdout)
    XCTAssertTrue(result.stderr.hasPrefix("convviz: error: training diverged: "), result.stderr)
    XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    XCTAssertTrue(result.stderr.contains("at epoch 1, batch "), result.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: model))
    XCTAssertFalse(result.stdout.contains("nan"), result.stdout)
  }
}
