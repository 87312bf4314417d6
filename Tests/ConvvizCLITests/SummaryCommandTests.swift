import Engine
import ModelFormats
import Training
import Foundation
import Tensors
import XCTest

@testable import convviz

final class SummaryCommandTests: XCTestCase {
  func testParsesModelArgument() throws {
    let command = try Summary.parse(["mnist-cnn"])
    XCTAssertEqual(command.model, "mnist-cnn")
    XCTAssertThrowsError(try Summary.parse([]))
  }

  func testPresetTableTotals() throws {
    let result = try TrainingCLI.run(["summary", "mnist-cnn"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("Total params: 933,378"), result.stdout)
    XCTAssertTrue(result.stdout.contains("3×3×1×32+32 = 320"), result.stdout)
    XCTAssertTrue(result.stdout.contains("(None, 12, 12, 32)"), result.stdout)
  }

  func testSpecFileAndBadInputs() throws {
    let folder = try TrainingScratchFolder()
    let spec = try folder.write(
      Array("input 8 8 1\nconv2d 4 3 relu\nflatten\ndense 2 softmax\n".utf8), to: "tiny.txt")
    let ok = try TrainingCLI.run(["summary", spec])
    XCTAssertEqual(ok.status, 0, ok.stderr)
    // 3×3×1×4+4 = 40, then 6×6×4 = 144 → 144×2+2 = 290.
    XCTAssertTrue(ok.stdout.contains("Total params: 330"), ok.stdout)

    let broken = try folder.write(Array("input 8 8 1\nconv9d 4\n".utf8), to: "broken.txt")
    let bad = try TrainingCLI.run(["summary", broken])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains("broken.txt"), bad.stderr)
    XCTAssertTrue(bad.stderr.contains("line 2"), bad.stderr)

    let missing = try TrainingCLI.run(["summary", "no-such-model"])
    XCTAssertNotEqual(missing.status, 0)
    XCTAssertTrue(missing.stderr.contains("mnist-cnn"), "lists the presets: \(missing.stderr)")
  }

  func testModelFileShowsTableAndTraining() throws {
    let folder = try TrainingScratchFolder()
    let spec = try ModelSpec.parse("input 4 4 1\nflatten\ndense 3 softmax\n")
    let parameters = spec.parameterShapes.map {
      NamedTensor(name: $0.name, tensor: Tensor(zeros: $0.shape))
    }
    let metadata = TrainingMetadata(
      dataset: "tiny", classNames: ["a", "b", "c"], seed: 5, epochsCompleted: 2, batchSize: 10,
      validationSplit: 0.1,
      history: [
        EpochRecord(
          epoch: 2, loss: 0.5, accuracy: 0.75, validationLoss: 0.6,
          validationAccuracy: 0.7, seconds: 1)
      ])
    let path = folder.path + "/m.bin"
    try ModelFile(spec: spec, metadata: metadata, parameters: parameters).write(to: path)
    let result = try TrainingCLI.run(["summary", path])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("Total params: 51"), result.stdout)
    XCTAssertTrue(result.stdout.contains("Trained: 2 epochs on tiny"), result.stdout)
    XCTAssertTrue(result.stdout.contains("Classes: a, b, c"), result.stdout)
    XCTAssertTrue(result.stdout.contains("val_accuracy 0.7000"), result.stdout)

    // A damaged model file is an error naming the file, not a spec parse attempt.
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    bytes.removeLast(10)
    let broken = try folder.write(bytes, to: "broken.bin")
    let bad = try TrainingCLI.run(["summary", broken])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains("broken.bin"), bad.stderr)
  }
}
