import Engine
import Foundation
import Tensors
import XCTest

@testable import ModelFormats

/// The one loading path: a model.bin and its ONNX export load into models
/// that compute the same numbers and show the same weights.
final class LoadedModelTests: XCTestCase {
  private func fixture(_ name: String, _ file: String) throws -> [UInt8] {
    let url = try XCTUnwrap(
      Bundle.module.url(forResource: "Fixtures/onnx/\(name)/\(file)", withExtension: nil))
    return [UInt8](try Data(contentsOf: url))
  }

  private func pair(_ name: String) throws -> (bin: LoadedModel, onnx: LoadedModel) {
    let file = try ModelFile.decode(fixture(name, "model.bin"), path: "model.bin")
    let onnx = try ONNXModel.decode(fixture(name, "model.onnx"), path: "model.onnx")
    return (LoadedModel(file), try LoadedModel(onnx, path: "model.onnx"))
  }

  func testExportedFixturesComputeTheSameOutputsBitForBit() throws {
    for name in ONNXExportTests.fixtures {
      let (bin, onnx) = try pair(name)
      XCTAssertEqual(onnx.input, bin.input, name)
      XCTAssertEqual(onnx.resize, bin.resize, name)
      XCTAssertEqual(onnx.classCount, bin.classCount, name)
      var generator = SeededGenerator(seed: 7)
      let shape = Shape([5] + bin.input.tensorShape.dims)
      let input = Tensor(
        shape: shape, storage: (0..<shape.count).map { _ in generator.nextFloat(in: 0, 1) })
      var a = bin.network
      var b = onnx.network
      let expected = try a.forward(input, mode: .inference)
      XCTAssertEqual(try b.forward(input, mode: .inference).storage, expected.storage, name)
    }
  }

  func testWeightsAndConvolutionsAreNamedAsInTheModelFile() throws {
    let (bin, onnx) = try pair("all-layers")
    XCTAssertEqual(onnx.parameters, bin.parameters)
    XCTAssertEqual(bin.parameters.map(\.name).prefix(2), ["conv2d/kernel", "conv2d/bias"])
    XCTAssertEqual(bin.layers.filter(\.isConvolution).map(\.name), ["conv2d", "conv2d_1"])
    let convolutions = onnx.layers.filter(\.isConvolution)
    XCTAssertEqual(convolutions.map(\.name), ["conv2d", "conv2d_1"])
    // Read after the activation that follows them, as a spec row computes.
    XCTAssertEqual(convolutions.map(\.tensor), ["conv2d", "conv2d_1"])
    XCTAssertEqual(onnx.layers[0].kind, "Conv2D")
    XCTAssertEqual(onnx.layers[1].name, "conv2d/relu")
    XCTAssertEqual(onnx.layers.map(\.hasMaps).filter { $0 }.count, 9, "up to the flatten")
    XCTAssertFalse(bin.layers[bin.layers.count - 1].hasMaps)
  }

  func testClassNamesAndResizeComeFromTheExportsMetadata() throws {
    var file = try ModelFile.decode(fixture("all-layers", "model.bin"), path: "model.bin")
    file.metadata.classNames = (0..<10).map { "digit \($0)" }
    file.metadata.resize = .stretch
    let exported = try ONNXModel.decode(
      ONNXModel(exporting: file).encoded(), path: "exported.onnx")
    let loaded = try LoadedModel(exported, path: "exported.onnx")
    XCTAssertEqual(loaded.classNames, file.metadata.classNames)
    XCTAssertEqual(loaded.resize, .stretch)
    // Names that do not fit the outputs are not used.
    var other = exported
    other.metadata = [ONNXMetadataEntry("convviz.class_names", "a\nb")]
    let unnamed = try LoadedModel(other, path: "other.onnx")
    XCTAssertEqual(unnamed.classNames, [])
    XCTAssertEqual(unnamed.resize, .fill)
  }

  func testMemoryAndShapesOfAnImportedModelAtAnotherInputSize() throws {
    let (bin, onnx) = try pair("all-layers")
    let photo = FeatureShape.image(height: 60, width: 50, channels: 1)
    // Layer 2 of the graph is conv2d_1, row 1 of the spec.
    XCTAssertEqual(
      onnx.outputShape(forInput: photo, through: 2), bin.outputShape(forInput: photo, through: 1))
    XCTAssertNotNil(onnx.outputShape(forInput: photo, through: 2))
    XCTAssertNil(
      onnx.outputShape(forInput: .image(height: 2, width: 2, channels: 1), through: 2),
      "a window larger than the input")
    let small = onnx.inferenceMemory(batchSize: 1)
    let large = onnx.inferenceMemory(batchSize: 100)
    XCTAssertGreaterThan(large, small)
    let weights = onnx.parameters.reduce(0) { $0 + $1.tensor.count * 4 }
    XCTAssertGreaterThan(small.bytes ?? 0, weights)
  }
}
