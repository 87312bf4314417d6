import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats

final class PresetTests: XCTestCase {
  func testPresetNamesAreTheCLINames() {
    XCTAssertEqual(
      Preset.allCases.map(\.rawValue), ["mnist-cnn", "mnist-mlp", "cifar-cnn", "vgg16"])
    XCTAssertEqual(Preset(rawValue: "mnist-cnn"), .mnistCNN)
  }

  /// The engine model built from a spec has the spec's shapes and counts.
  func testEngineModelsMatchTheirSpecs() {
    for preset in [Preset.mnistCNN, .mnistMLP, .cifarCNN] {
      let spec = preset.spec
      let model = spec.makeModel(seed: 0)
      XCTAssertEqual(model.parameterCount, ModelSummary(spec).totalCount, preset.rawValue)
      XCTAssertEqual(model.inputShape, spec.input.tensorShape)
      XCTAssertEqual(model.outputShape, spec.outputShape.tensorShape)
      XCTAssertEqual(
        model.namedParameters(spec).map(\.tensor.shape), spec.parameterShapes.map(\.shape))
    }
    // conv2d relu → Conv2D + Activation, as Keras computes a fused activation.
    XCTAssertEqual(
      Preset.mnistCNN.spec.makeModel(seed: 0).layers.map(\.kind),
      [
        "Conv2D", "Activation", "Conv2D", "Activation", "MaxPooling2D", "Dropout", "Flatten",
        "Dense", "Activation", "Dense", "Activation",
      ])
  }

  func testSeedFixesInitialWeightsAndStoredWeightsRoundTrip() {
    let spec = Preset.mnistMLP.spec
    let a = spec.makeModel(seed: 5).namedParameters(spec)
    XCTAssertEqual(a, spec.makeModel(seed: 5).namedParameters(spec))
    XCTAssertNotEqual(a, spec.makeModel(seed: 6).namedParameters(spec))
    // Glorot uniform for dense (784, 512): limit sqrt(6 / (784 + 512)); biases zero.
    let limit = Float((6.0 / 1296.0).squareRoot())
    XCTAssertTrue(a[0].tensor.storage.allSatisfy { abs($0) <= limit })
    XCTAssertTrue(a[1].tensor.storage.allSatisfy { $0 == 0 })
    XCTAssertEqual(spec.makeModel(parameters: a).namedParameters(spec), a)
  }
}

final class PresetSizingTests: XCTestCase {
  /// A preset takes the data's channels and classes (issue 15: cifar-cnn on
  /// a 3-class folder trained a 10-way model with phantom classes).
  func testPresetIsSizedToTheData() throws {
    let spec = try Preset.cifarCNN.spec(channels: 3, classes: 3)
    XCTAssertEqual(spec.classCount, 3)
    XCTAssertEqual(spec.input, .image(height: 32, width: 32, channels: 3))
    XCTAssertEqual(spec.layers.dropLast(), Preset.cifarCNN.spec.layers.dropLast())
    XCTAssertEqual(spec.layers.last, .dense(units: 3, activation: .softmax))
    let colour = try Preset.mnistCNN.spec(channels: 3, classes: 10)
    XCTAssertEqual(colour.input, .image(height: 28, width: 28, channels: 3))
    XCTAssertEqual(colour.parameterCount, Preset.mnistCNN.spec.parameterCount + 2 * 9 * 32)
    XCTAssertEqual(try Preset.mnistCNN.spec(channels: 1, classes: 10), Preset.mnistCNN.spec)
  }
}
