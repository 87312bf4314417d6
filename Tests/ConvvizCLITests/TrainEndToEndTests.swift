import Foundation
import ImageCodecs
import XCTest

/// train → evaluate → predict with the built binary on a tiny synthetic data
/// set: 8×8 images of a horizontal (class 0) or vertical (class 1) bar, in
/// MNIST's IDX layout, and a model small enough to train in a second.
final class TrainEndToEndTests: XCTestCase {
  static let spec = """
    input 8 8 1
    conv2d 4 3 relu
    maxpool2d 2
    flatten
    dense 2 softmax

    """

  /// A bar image: row or column `position` lit, with a little deterministic noise.
  static func barImage(vertical: Bool, position: Int, noise: Int) -> [UInt8] {
    (0..<64).map { i in
      let (y, x) = (i / 8, i % 8)
      let lit = vertical ? x == position : y == position
      return lit ? 230 : UInt8((i * 37 + noise * 11) % 40)
    }
  }

  static func idx(dims: [Int], payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, 8, UInt8(dims.count)]
    for d in dims {
      bytes += [UInt8(d >> 24), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)]
    }
    return bytes + payload
  }

  /// Writes train (n) and t10k (n / 4) splits; labels alternate 0, 1, 0, …
  static func writeBars(to folder: TrainingScratchFolder, count n: Int) throws {
    for (prefix, count) in [("train", n), ("t10k", n / 4)] {
      var pixels: [UInt8] = []
      var labels: [UInt8] = []
      for i in 0..<count {
        let vertical = i % 2 == 1
        pixels += barImage(vertical: vertical, position: (i / 2) % 8, noise: i)
        labels.append(vertical ? 1 : 0)
      }
      try folder.write(
        idx(dims: [count, 8, 8], payload: pixels), to: "data/\(prefix)-images-idx3-ubyte")
      try folder.write(idx(dims: [count], payload: labels), to: "data/\(prefix)-labels-idx1-ubyte")
    }
  }

  func testTrainEvaluatePredict() throws {
    let folder = try TrainingScratchFolder()
    try Self.writeBars(to: folder, count: 240)
    let spec = try folder.write(Array(Self.spec.utf8), to: "bars.txt")
    let data = folder.path + "/data"
    let model = folder.path + "/out/model.bin"

    let train = try TrainingCLI.run([
      "train", "--model", spec, "--data", data, "--epochs", "4", "--batch-size", "20",
      "--optimizer", "adam", "--learning-rate", "0.01", "--seed", "3", "-o", model,
    ])
    XCTAssertEqual(train.status, 0, train.stderr)
    // Not a terminal: one line per epoch, no carriage-return progress bar.
    XCTAssertFalse(train.stdout.contains("\r"))
    XCTAssertEqual(
      train.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("epoch ") }.count, 4)
    XCTAssertTrue(train.stdout.contains("216 training, 24 validation samples"), train.stdout)
    XCTAssertTrue(train.stdout.contains("val_accuracy"), train.stdout)
    let accuracy = try XCTUnwrap(Self.number(after: "test accuracy ", in: train.stdout))
    XCTAssertGreaterThan(accuracy, 0.9, "bars are easy: \(train.stdout)")
    XCTAssertTrue(FileManager.default.fileExists(atPath: model))
    let history = try String(contentsOfFile: folder.path + "/out/model.csv", encoding: .utf8)
    let rows = history.split(separator: "\n")
    XCTAssertEqual(rows.first, "epoch,loss,accuracy,val_loss,val_accuracy,seconds,learning_rate")
    // Adam at --learning-rate 0.01 and no schedule: every epoch's rate.
    XCTAssertTrue(rows.dropFirst().allSatisfy { $0.hasSuffix(",0.01") }, history)
    XCTAssertEqual(rows.count, 5)

    let confusion = folder.path + "/out/eval-confusion.png"
    let evaluate = try TrainingCLI.run(["evaluate", model, "--data", data, "-o", confusion])
    XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
    let picture = try ImageFile.read(confusion)
    XCTAssertGreaterThan(picture.width, 100)
    XCTAssertTrue(evaluate.stdout.contains("wrote \(confusion)"), evaluate.stdout)
    XCTAssertTrue(evaluate.stdout.contains("test split, 60 samples"), evaluate.stdout)
    XCTAssertEqual(Self.number(after: "accuracy ", in: evaluate.stdout), accuracy)
    XCTAssertTrue(evaluate.stdout.contains("confusion counts"), evaluate.stdout)

    // A vertical bar as a PNG file and a horizontal one from the IDX file.
    let png = folder.path + "/vertical.png"
    try ImageFile.write(
      Image(
        width: 8, height: 8, layout: .gray,
        samples: Self.barImage(vertical: true, position: 5, noise: 0)), to: png)
    let predict = try TrainingCLI.run([
      "predict", model, png, "mnist:\(data)/t10k-images-idx3-ubyte#0", "--top", "2",
    ])
    XCTAssertEqual(predict.status, 0, predict.stderr)
    let lines = predict.stdout.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.count, 2)
    XCTAssertTrue(lines[0].hasPrefix(png + ": 1 "), lines[0])
    XCTAssertTrue(lines[1].contains("#0: 0 "), "t10k image 0 is a horizontal bar: \(lines[1])")
    XCTAssertEqual(lines[1].split(separator: " ").count, 5, "two classes with probabilities")
  }

  func testSameSeedSameFileAndResumeMatchesAStraightRun() throws {
    let folder = try TrainingScratchFolder()
    try Self.writeBars(to: folder, count: 80)
    let spec = try folder.write(Array(Self.spec.utf8), to: "bars.txt")
    let data = folder.path + "/data"
    func train(_ output: String, epochs: Int, resume: Bool = false) throws {
      var arguments = [
        "train", "--data", data, "--epochs", "\(epochs)", "--batch-size", "16",
        "--seed", "11", "-o", folder.path + "/" + output,
      ]
      arguments += resume ? ["--resume"] : ["--model", spec]
      let result = try TrainingCLI.run(arguments)
      XCTAssertEqual(result.status, 0, result.stderr)
    }
    try train("a.bin", epochs: 2)
    try train("b.bin", epochs: 2)
    try train("c.bin", epochs: 1)
    try train("c.bin", epochs: 2, resume: true)
    let again = try TrainingCLI.run([
      "train", "--data", data, "--epochs", "2", "--resume", "-o", folder.path + "/c.bin",
    ])
    // Regression (scripts/kill-resume.sh): a run killed after its last
    // checkpoint must resume cleanly, as a no-op that leaves the model as is.
    XCTAssertEqual(again.status, 0, again.stderr)
    XCTAssertTrue(again.stdout.contains("nothing left to train"), again.stdout)
    let fewer = try TrainingCLI.run([
      "train", "--data", data, "--epochs", "1", "--resume", "-o", folder.path + "/c.bin",
    ])
    XCTAssertEqual(fewer.status, 64, "a command line the checkpoint contradicts")
    XCTAssertTrue(fewer.stderr.contains("already trained 2 epochs"), fewer.stderr)
    let nothing = try TrainingCLI.run([
      "train", "--data", data, "--resume", "-o", folder.path + "/none.bin",
    ])
    XCTAssertEqual(nothing.status, 1)
    XCTAssertTrue(nothing.stderr.contains("none.bin"), nothing.stderr)
    let a = try Data(contentsOf: URL(fileURLWithPath: folder.path + "/a.bin"))
    XCTAssertEqual(a, try Data(contentsOf: URL(fileURLWithPath: folder.path + "/b.bin")))
    XCTAssertEqual(a, try Data(contentsOf: URL(fileURLWithPath: folder.path + "/c.bin")))
  }

  func testBadInputsFailWithOneLineErrors() throws {
    let folder = try TrainingScratchFolder()
    let missing = try TrainingCLI.run([
      "train", "--model", "mnist-cnn", "--data", folder.path + "/nope",
    ])
    XCTAssertNotEqual(missing.status, 0)
    XCTAssertTrue(missing.stderr.contains("nope"), missing.stderr)

    try Self.writeBars(to: folder, count: 8)
    // Cut the training images short: the error names the file and the sizes.
    let images = folder.path + "/data/train-images-idx3-ubyte"
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: images)))
    try folder.write(Array(bytes.dropLast(10)), to: "data/train-images-idx3-ubyte")
    let truncated = try TrainingCLI.run([
      "train", "--model", "mnist-cnn", "--data", folder.path + "/data",
    ])
    XCTAssertNotEqual(truncated.status, 0)
    XCTAssertTrue(truncated.stderr.contains("train-images-idx3-ubyte"), truncated.stderr)
    XCTAssertTrue(truncated.stderr.contains("512"), "expected bytes: \(truncated.stderr)")

    try Self.writeBars(to: folder, count: 8)
    // Without resizing, 8×8 images do not fit mnist-cnn's 28×28 input.
    let shape = try TrainingCLI.run([
      "train", "--model", "mnist-cnn", "--data", folder.path + "/data", "--resize", "none",
    ])
    XCTAssertNotEqual(shape.status, 0)
    XCTAssertTrue(shape.stderr.contains("28"), shape.stderr)

    let usage = try TrainingCLI.run(["train", "--data", folder.path + "/data"])
    XCTAssertEqual(usage.status, 64, usage.stderr)
    let notModel = try TrainingCLI.run(["evaluate", images, "--data", folder.path + "/data"])
    XCTAssertNotEqual(notModel.status, 0)
    XCTAssertTrue(notModel.stderr.contains(images), notModel.stderr)
  }

  /// The decimal number that follows `marker` in `text`.
  static func number(after marker: String, in text: String) -> Double? {
    guard let range = text.range(of: marker) else { return nil }
    return Double(text[range.upperBound...].prefix { $0.isNumber || $0 == "." })
  }
}
