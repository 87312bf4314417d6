import Engine
import ModelFormats
import Training
import Foundation
import ImageCodecs
import Tensors
import XCTest

@testable import convviz

final class PredictCommandTests: XCTestCase {
  func testParses() throws {
    let command = try Predict.parse(["m.bin", "a.png", "b.jpg", "--top", "5"])
    XCTAssertEqual(command.images, ["a.png", "b.jpg"])
    XCTAssertEqual(command.top, 5)
    XCTAssertEqual(try Predict.parse(["m.bin", "a.png"]).top, 3)
    XCTAssertThrowsError(try Predict.parse(["m.bin"]), "needs an image")
    XCTAssertThrowsError(try Predict.parse(["m.bin", "a.png", "--top", "0"]))
  }

  func testTopClassesRankByProbabilityThenIndex() {
    let names = ["zero", "one", "two", "three"]
    XCTAssertEqual(
      Predict.topClasses([0.1, 0.6, 0.1, 0.2], names: names, k: 3),
      "one 0.6000  three 0.2000  zero 0.1000")
    XCTAssertEqual(
      Predict.topClasses([0.25, 0.25, 0.25, 0.25], names: names, k: 9).split(separator: " ").count,
      8)
  }

  func testBadImagesFailWithOneLineErrors() throws {
    let folder = try TrainingScratchFolder()
    let spec = try ModelFormats.ModelSpec.parse("input 4 4 1\nflatten\ndense 2 softmax\n")
    let parameters = spec.parameterShapes.map {
      NamedTensor(name: $0.name, tensor: Tensor(zeros: $0.shape))
    }
    let model = folder.path + "/m.bin"
    try ModelFile(spec: spec, metadata: TrainingMetadata(), parameters: parameters).write(to: model)
    let big = folder.path + "/big.png"
    try ImageFile.write(
      Image(width: 5, height: 4, layout: .gray, samples: [UInt8](repeating: 0, count: 20)),
      to: big)
    let wrongSize = try TrainingCLI.run(["predict", model, big])
    XCTAssertEqual(wrongSize.status, 1)
    XCTAssertEqual(
      wrongSize.stderr, "convviz: error: \(big): image is 5×4 but the model takes 4×4 images\n")
    let syntax = try TrainingCLI.run(["predict", model, "mnist:file.gz"])
    XCTAssertNotEqual(syntax.status, 0)
    XCTAssertTrue(syntax.stderr.contains("PATH#INDEX"), syntax.stderr)

    // A uniform model: every class equally likely, ties listed by class index.
    let ok = try TrainingCLI.run(["predict", model, folder.path])
    XCTAssertEqual(ok.status, 1, "the folder holds only the 5×4 image")
    let small = folder.path + "/small.png"
    try FileManager.default.removeItem(atPath: big)
    try ImageFile.write(
      Image(width: 4, height: 4, layout: .rgb, samples: [UInt8](repeating: 9, count: 48)),
      to: small)
    let uniform = try TrainingCLI.run(["predict", model, folder.path, "--top", "5"])
    XCTAssertEqual(uniform.status, 0, uniform.stderr)
    XCTAssertEqual(uniform.stdout, "\(small): 0 0.5000  1 0.5000\n")
  }
}
