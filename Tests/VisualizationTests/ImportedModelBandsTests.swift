import Engine
import ModelFormats
import Tensors
import XCTest

@testable import Visualization

/// Feature maps of an imported graph are made in bands as a spec's are:
/// a model exported to ONNX and read back plans the same bands and draws
/// the same shrunk maps, bit for bit.
final class ImportedModelBandsTests: XCTestCase {
  private func pair(_ text: String) throws -> (bin: LoadedModel, onnx: LoadedModel) {
    let spec = try ModelSpec.parse(text)
    var network = spec.makeModel(seed: 5)
    let file = ModelFile(
      spec: spec, metadata: TrainingMetadata(), parameters: network.namedParameters(spec))
    let onnx = try ONNXModel.decode(ONNXModel(exporting: file).encoded(), path: "m.onnx")
    return (LoadedModel(file), try LoadedModel(onnx, path: "m.onnx"))
  }

  func testBandsOfTheExportMatchTheModelFiles() throws {
    // Rows: conv2d, conv2d_1, max_pooling2d. Nodes: conv2d, conv2d/relu,
    // conv2d_1, conv2d_1/relu, max_pooling2d.
    let (bin, onnx) = try pair(
      "input 28 28 1\nconv2d 4 3 relu padding=same\nconv2d 3 3 relu\nmaxpool2d 2\n"
        + "flatten\ndense 2 softmax\n")
    var generator = SeededGenerator(seed: 9)
    let input = Tensor(
      shape: Shape(1, 1, 300, 140), storage: (0..<42_000).map { _ in generator.nextUnitFloat() })
    for (row, node) in [(0, 0), (1, 2), (2, 4)] {
      let expected = try XCTUnwrap(
        FeatureMapBands(
          model: bin, inputHeight: 300, inputWidth: 140, inputChannels: 1, through: row,
          maxTileSide: 32, bandBytes: 1))
      let bands = try XCTUnwrap(
        FeatureMapBands(
          model: onnx, inputHeight: 300, inputWidth: 140, inputChannels: 1, through: node,
          maxTileSide: 32, bandBytes: 1), "node \(node)")
      XCTAssertGreaterThan(bands.bands.count, 2)
      XCTAssertEqual(bands.bands, expected.bands)
      XCTAssertEqual(bands.factor, expected.factor)
      let (maps, strongest) = try bands.run(model: onnx, input: input)
      let reference = try expected.run(model: bin, input: input)
      XCTAssertEqual(maps.storage, reference.maps.storage, "node \(node)")
      XCTAssertEqual(strongest, reference.strongestChannel)
      XCTAssertEqual(
        try FeatureMapBands.displayMaps(model: onnx, input: input, through: node, maxTileSide: 32)
          .shape, maps.shape)
    }
  }

  func testSamePaddingWithAStrideIsMadeWhole() throws {
    let (_, onnx) = try pair("input 28 28 1\nconv2d 2 3 strides=2 padding=same\n")
    XCTAssertNil(
      FeatureMapBands(
        model: onnx, inputHeight: 900, inputWidth: 900, inputChannels: 1, through: 0,
        maxTileSide: 8, bandBytes: 1),
      "same padding with a stride depends on the band's height")
  }
}
