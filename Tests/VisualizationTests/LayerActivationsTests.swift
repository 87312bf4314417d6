import Engine
import ModelFormats
import Training
import Tensors
import XCTest

@testable import Visualization

final class LayerActivationsTests: XCTestCase {
  /// input 4×4×1 → conv 2 filters 3×3 relu → maxpool 2 → flatten → dense 2.
  /// Filter 0 sums its window (bias −1); filter 1 is minus the centre pixel.
  func smallModel() throws -> ModelFile {
    let spec = try ModelSpec.parse(
      "input 4 4 1\nconv2d 2 3 relu\nmaxpool2d 2\nflatten\ndense 2 softmax\n")
    var kernel = [Float](repeating: 0, count: 18)
    for yx in 0..<9 { kernel[yx * 2] = 1 }
    kernel[4 * 2 + 1] = -1
    let parameters = [
      NamedTensor(name: "conv2d/kernel", tensor: Tensor(shape: Shape(3, 3, 1, 2), storage: kernel)),
      NamedTensor(name: "conv2d/bias", tensor: Tensor(shape: Shape(2), storage: [-1, 0])),
      NamedTensor(name: "dense/kernel", tensor: Tensor(zeros: Shape(2, 2))),
      NamedTensor(name: "dense/bias", tensor: Tensor(zeros: Shape(2))),
    ]
    return ModelFile(spec: spec, metadata: TrainingMetadata(), parameters: parameters)
  }

  /// A 1×1×H×W image whose pixel (x, y) is (x + W·y) / 100.
  func ramp(height: Int, width: Int) -> Tensor {
    Tensor(
      shape: Shape(1, 1, height, width), storage: (0..<(height * width)).map { Float($0) / 100 })
  }

  func testFirstLayerRunsOnAnImageOfAnySize() throws {
    let maps = try LayerActivations.compute(
      model: smallModel(), input: ramp(height: 5, width: 6), through: 0)
    XCTAssertEqual(maps.shape, Shape(1, 2, 3, 4))
    // Window at (1, 2): rows 2…4, columns 1…3; values (x + 6y)/100.
    var sum: Float = 0
    for y in 2...4 { for x in 1...3 { sum += Float(x + 6 * y) / 100 } }
    XCTAssertEqual(maps.storage[maps.offset(n: 0, c: 0, y: 2, x: 1)], sum - 1, accuracy: 1e-5)
    XCTAssertEqual(maps.storage[maps.offset(n: 0, c: 0, y: 0, x: 0)], 0, "relu clips 0.63 − 1")
    XCTAssertTrue(maps.storage[12..<24].allSatisfy { $0 == 0 }, "relu of minus a positive pixel")
  }

  func testDeeperLayersRunTheForwardPass() throws {
    let pooled = try LayerActivations.compute(
      model: smallModel(), input: ramp(height: 6, width: 6), through: 1)
    XCTAssertEqual(pooled.shape, Shape(1, 2, 2, 2))
    let conv = try LayerActivations.compute(
      model: smallModel(), input: ramp(height: 6, width: 6), through: 0)
    let top = [0, 1, 4, 5].map { conv.storage[$0] }.max()!
    XCTAssertEqual(pooled.storage[0], top)
  }

  func testLayersWithoutASpatialLayoutAreRefused() throws {
    let model = try smallModel()
    XCTAssertThrowsError(
      try LayerActivations.compute(model: model, input: ramp(height: 4, width: 4), through: 2)
    ) {
      guard case VisualizationError.wrongLayerKind(2, "Flatten", _) = $0 else {
        return XCTFail("\($0)")
      }
      XCTAssertTrue("\($0)".contains("layer 2 is Flatten"))
    }
    XCTAssertThrowsError(
      try LayerActivations.compute(model: model, input: ramp(height: 4, width: 4), through: 9)
    ) {
      guard case VisualizationError.noSuchLayer(9, 4) = $0 else { return XCTFail("\($0)") }
    }
    XCTAssertThrowsError(
      try LayerActivations.compute(model: model, input: ramp(height: 2, width: 8), through: 0)
    ) {
      guard case VisualizationError.inputTooSmall(0, 8, 2, "3x3") = $0 else {
        return XCTFail("\($0)")
      }
    }
  }

  func testConvolutionLookup() throws {
    let model = try smallModel()
    XCTAssertEqual(LayerActivations.convolutionLayers(of: model.spec), [0])
    let conv = try LayerActivations.convolution(model, layer: 0)
    XCTAssertEqual(conv.name, "conv2d")
    XCTAssertEqual(conv.kernel.shape, Shape(3, 3, 1, 2))
    XCTAssertEqual(conv.bias.storage, [-1, 0])
    XCTAssertThrowsError(try LayerActivations.convolution(model, layer: 1)) {
      guard case VisualizationError.wrongLayerKind(1, "MaxPooling2D", "Conv2D") = $0 else {
        return XCTFail("\($0)")
      }
    }
  }

  /// Rows after the first run at the photo's own size too (dropout is the
  /// identity), equal to the layers applied by hand; a window that no
  /// longer fits names its spec row.
  func testLaterRowsMatchTheLayersByHand() throws {
    let spec = try ModelSpec.parse(
      "input 4 4 1\nconv2d 2 3 relu padding=same\ndropout 0.5\nactivation tanh\n"
        + "maxpool2d 2\nflatten\ndense 2 softmax\n")
    let model = ModelFile(
      spec: spec, metadata: TrainingMetadata(),
      parameters: spec.makeModel(seed: 2).namedParameters(spec))
    let input = ramp(height: 7, width: 9)
    var conv = Conv2D(
      kernel: model.parameters[0].tensor, bias: model.parameters[1].tensor, padding: .same)
    var relu = Activation(.relu)
    var tanh = Activation(.tanh)
    var pool = Pooling2D(.max)
    let activated = try tanh.forward(
      try relu.forward(conv.forward(input, mode: .inference), mode: .inference), mode: .inference)
    XCTAssertEqual(
      try LayerActivations.compute(model: model, input: input, through: 2), activated)
    XCTAssertEqual(
      try LayerActivations.compute(model: model, input: input, through: 3),
      try pool.forward(activated, mode: .inference))
    XCTAssertThrowsError(
      try LayerActivations.compute(model: model, input: ramp(height: 1, width: 5), through: 3)
    ) {
      guard case VisualizationError.inputTooSmall(3, 5, 1, "2x2") = $0 else {
        return XCTFail("\($0)")
      }
    }
  }
}
