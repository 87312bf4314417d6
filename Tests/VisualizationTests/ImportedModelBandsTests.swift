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
    let network = spec.makeModel(seed: 5)
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

  /// Dilated convolutions read rows across their whole span: bands of a
  /// graph of them (valid, then same-padded at stride 1, then a batch
  /// normalisation) give the whole maps, shrunk.
  func testDilatedConvolutionsAreBandedAcrossTheirSpan() throws {
    var generator = SeededGenerator(seed: 12)
    func weights(_ name: String, _ dims: [Int]) -> ONNXTensor {
      let count = dims.reduce(1, *)
      return ONNXTensor(
        name: name,
        Tensor(shape: Shape(dims), storage: (0..<count).map { _ in generator.nextFloat(in: -1, 1) })
      )
    }
    let nodes = [
      ONNXNode(
        name: "a", opType: "Conv", inputs: ["x", "wa"], outputs: ["a"],
        attributes: [ONNXAttribute("dilations", .ints([2, 2]))]),
      ONNXNode(name: "r", opType: "Relu", inputs: ["a"], outputs: ["r"]),
      ONNXNode(
        name: "b", opType: "Conv", inputs: ["r", "wb"], outputs: ["b"],
        attributes: [
          ONNXAttribute("dilations", .ints([3, 3])), ONNXAttribute("pads", .ints([3, 3, 3, 3])),
        ]),
      ONNXNode(
        name: "n", opType: "BatchNormalization",
        inputs: ["b", "n.scale", "n.B", "n.mean", "n.var"], outputs: ["n"]),
      // A second reader of b keeps the batch normalisation a node.
      ONNXNode(name: "gap", opType: "GlobalAveragePool", inputs: ["n"], outputs: ["g"]),
      ONNXNode(name: "gmp", opType: "GlobalMaxPool", inputs: ["b"], outputs: ["m"]),
      ONNXNode(name: "sum", opType: "Add", inputs: ["g", "m"], outputs: ["y"]),
    ]
    var variance = weights("n.var", [2])
    variance.elements = .float(Tensor(shape: Shape(2), storage: [0.5, 2]))
    let onnx = ONNXModel(
      opset: 13,
      graph: ONNXGraph(
        name: "dilated",
        inputs: [ONNXValueInfo(name: "x", dims: [.fixed(1), .fixed(1), .fixed(28), .fixed(28)])],
        outputs: [ONNXValueInfo(name: "y", dims: nil)], nodes: nodes,
        initializers: [
          weights("wa", [3, 1, 3, 3]), weights("wb", [2, 3, 3, 3]), weights("n.scale", [2]),
          weights("n.B", [2]), weights("n.mean", [2]), variance,
        ]))
    let model = try LoadedModel(onnx, path: "d.onnx")
    let input = Tensor(
      shape: Shape(1, 1, 90, 50), storage: (0..<4500).map { _ in generator.nextUnitFloat() })
    for name in ["a", "n"] {
      let layer = try XCTUnwrap(model.layers.firstIndex { $0.name == name }, name)
      let bands = try XCTUnwrap(
        FeatureMapBands(
          model: model, inputHeight: 90, inputWidth: 50, inputChannels: 1, through: layer,
          maxTileSide: 8, bandBytes: 1))
      XCTAssertGreaterThan(bands.bands.count, 2, name)
      let (shrunk, _) = try bands.run(model: model, input: input)
      let whole = try LayerActivations.compute(model: model, input: input, through: layer)
      let values = FeatureMaps.tiles(whole).map { $0.downsampled(by: bands.factor) }
        .flatMap { $0.planes[0] }
      XCTAssertEqual(shrunk.storage.count, values.count)
      let worst = zip(shrunk.storage, values).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
      XCTAssertLessThan(worst, 1e-5, name)
    }
  }
}
