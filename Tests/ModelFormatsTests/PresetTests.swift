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
