import Foundation
import ModelFormats
import Tensors
import XCTest

@testable import convviz

final class ExportCommandTests: XCTestCase {
  func testParsesModelAndOutput() throws {
    let trained = try VisualizationFixture.trained()
    let command = try Export.parse([trained.model, "-o", "m.onnx"])
    XCTAssertEqual(command.model, trained.model)
    XCTAssertEqual(command.output, "m.onnx")
    XCTAssertThrowsError(try Export.parse([]))
    XCTAssertThrowsError(try Export.parse(["no-such-model.bin"]))
  }

  func testExportsATrainedModel() throws {
    let trained = try VisualizationFixture.trained()
    let target = trained.folder.path + "/exported/bars.onnx"
    let result = try TrainingCLI.run(["export", trained.model, "-o", target])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.hasPrefix("wrote \(target) (ONNX opset 13"), result.stdout)
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: target)))
    // A ModelProto: field 1 (ir_version) comes first, as protobuf writers
    // order fields by number.
    XCTAssertEqual(bytes.first, 0x08)
    XCTAssertTrue(String(decoding: bytes, as: UTF8.self).contains("Conv"))

    // Into a folder: the default name there.
    let folder = trained.folder.path + "/into/"
    let again = try TrainingCLI.run(["export", trained.model, "-o", folder])
    XCTAssertEqual(again.status, 0, again.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "model.onnx"))
  }

  /// An ONNX model exported again computes the same bits (the engine's
  /// graph written back).
  func testExportsAnONNXModelAgain() throws {
    let trained = try VisualizationFixture.trained()
    let first = trained.folder.path + "/twice/first.onnx"
    let second = trained.folder.path + "/twice/second.onnx"
    XCTAssertEqual(try TrainingCLI.run(["export", trained.model, "-o", first]).status, 0)
    let result = try TrainingCLI.run(["export", first, "-o", second])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.hasPrefix("wrote \(second) (ONNX opset 13"), result.stdout)
    var a = try ONNXModel.read(from: first).makeNetwork(path: first)
    var b = try ONNXModel.read(from: second).makeNetwork(path: second)
    var input = Tensor(zeros: Shape([3] + a.inputShape.dims))
    for i in 0..<input.count { input.storage[i] = Float(i % 17) / 17 }
    XCTAssertEqual(
      try b.forward(input, mode: .inference).storage,
      try a.forward(input, mode: .inference).storage)
  }

  func testRefusesPresetsDamagedModelsAndOverwritingTheInput() throws {
    let folder = try TrainingScratchFolder()
    let preset = try TrainingCLI.run(["export", "mnist-cnn", "-o", folder.path + "/p.onnx"])
    XCTAssertEqual(preset.status, 64, preset.stderr)
    XCTAssertTrue(preset.stderr.contains("without weights"), preset.stderr)

    let damaged = try folder.write(Array("CVZMODEL\u{1}".utf8), to: "damaged.bin")
    let bad = try TrainingCLI.run(["export", damaged, "-o", folder.path + "/d.onnx"])
    XCTAssertEqual(bad.status, 1)
    XCTAssertTrue(bad.stderr.hasPrefix("convviz: error: \(damaged): "), bad.stderr)
    XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path + "/d.onnx"))

    let trained = try VisualizationFixture.trained()
    let same = try TrainingCLI.run(["export", trained.model, "-o", trained.model])
    XCTAssertNotEqual(same.status, 0)
  }

  func testSummaryOfTheExportedModelListsItsGraph() throws {
    let trained = try VisualizationFixture.trained()
    let target = trained.folder.path + "/summary/bars.onnx"
    XCTAssertEqual(try TrainingCLI.run(["export", trained.model, "-o", target]).status, 0)
    let original = try TrainingCLI.run(["summary", trained.model])
    let result = try TrainingCLI.run(["summary", target])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("conv2d (Conv2D)"), result.stdout)
    XCTAssertTrue(result.stdout.contains("ONNX opset 13"), result.stdout)
    // The same parameter total as the model it came from.
    let total = try XCTUnwrap(
      original.stdout.split(separator: "\n").first { $0.hasPrefix("Total params:") })
    XCTAssertTrue(result.stdout.contains(total), result.stdout)
  }

  func testSummaryRefusesAnONNXOpItCannotRunInOneLine() throws {
    let folder = try TrainingScratchFolder()
    let model = ONNXModel(
      opset: 13,
      graph: ONNXGraph(
        name: "g", inputs: [ONNXValueInfo(name: "x", dims: [.named("N"), .fixed(3)])],
        outputs: [ONNXValueInfo(name: "y", dims: nil)],
        nodes: [ONNXNode(name: "odd", opType: "Abs", inputs: ["x"], outputs: ["y"])],
        initializers: []))
    let path = try folder.write(model.encoded(), to: "abs.onnx")
    let result = try TrainingCLI.run(["summary", path])
    XCTAssertEqual(result.status, 1)
    XCTAssertEqual(
      result.stderr,
      "convviz: error: \(path): node 'odd' has op Abs, which convviz cannot run (it runs "
        + ONNXModel.importableOperations.joined(separator: ", ") + ")\n")
    XCTAssertEqual(result.stdout, "")
  }
}
