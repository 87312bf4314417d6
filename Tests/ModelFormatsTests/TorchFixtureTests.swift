import Foundation
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats

/// Whole networks written by PyTorch's own ONNX exporter:
/// scripts/make-torch-fixtures.py built small versions of the torchvision
/// architectures (random weights, fixed seed), exported them, ran them in
/// onnxruntime on a fixed batch and committed model, batch and output.
/// convviz must load each and match onnxruntime within 1e-4 relative.
/// Neither Python nor onnxruntime is needed to run these tests.
final class TorchFixtureTests: XCTestCase {
  private func fixture(_ name: String, _ file: String) throws -> [UInt8] {
    let url = try XCTUnwrap(
      Bundle.module.url(forResource: "Fixtures/torch/\(name)/\(file)", withExtension: nil),
      "\(name)/\(file) missing; run scripts/make-torch-fixtures.py")
    return [UInt8](try Data(contentsOf: url))
  }

  private func tensor(_ name: String, _ file: String) throws -> Tensor {
    try XCTUnwrap(try ONNXTensor.decode(serialized: fixture(name, file)).floatTensor)
  }

  /// Loads fixture `name`, runs its batch and compares with onnxruntime's
  /// output: the largest difference at most 1e-4 of the output's scale
  /// (its largest magnitude, at least 1).
  private func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let model = try ONNXModel.decode(fixture(name, "model.onnx"), path: "\(name)/model.onnx")
    var network = try model.makeNetwork(path: "\(name)/model.onnx")
    let input = try tensor(name, "input_0.pb")
    let expected = try tensor(name, "output_0.pb")
    let output = try network.forward(input, mode: .inference)
    XCTAssertEqual(output.shape, expected.shape, name, file: file, line: line)
    guard output.shape == expected.shape else { return }
    let scale = max(1, expected.storage.map(abs).max() ?? 0)
    let worst = zip(output.storage, expected.storage).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, 1e-4 * scale, name, file: file, line: line)
    print("\(name): largest difference from onnxruntime \(worst) (output scale \(scale))")
    // The two samples are told apart, so the comparison is not of a constant.
    let classes = expected.shape[1]
    XCTAssertNotEqual(
      Array(expected.storage[0..<classes]), Array(expected.storage[classes..<(2 * classes)]),
      name, file: file, line: line)
  }

  /// 7×7/2 stem, BatchNormalization nodes, padded max pooling, basic
  /// blocks with a strided 1×1 downsample, global average pooling, Gemm.
  func testResNetBlocks() throws { try check("resnet-blocks") }

  /// Depthwise 3×3 and strided 5×5, ReLU6 (Clip), hard swish, squeeze and
  /// excitation (Mul by a per-channel hard sigmoid), a dilated grouped
  /// convolution, LeakyRelu, a residual Add.
  func testMobileBlocks() throws { try check("mobile-blocks") }

  /// Fire modules (Concat of 1×1 and 3×3 expansions), ceil-mode pooling,
  /// a 1×1 classifier convolution and global average pooling.
  func testSqueezeNetFire() throws { try check("squeezenet-fire") }

  /// The seed's MNIST network, narrowed, flattened through `view`
  /// (Shape, Gather, Unsqueeze, Concat and Reshape folded at load).
  func testMNISTCNN() throws { try check("mnist-cnn") }

  /// ShuffleNetV2 units: chunk (Slice), channel shuffle (Reshape,
  /// Transpose, Reshape), average pooling without the padding.
  func testShuffleUnit() throws { try check("shuffle-unit") }

  /// 11×11/4 convolution, asymmetric constant Pad, average pooling
  /// counting the padding, tanh and sigmoid, opset 9.
  func testAlexNetLike() throws { try check("alexnet-like") }

  /// Loading for a command moves the weights into the network: the
  /// loaded model keeps no second copy (the model file's initializers,
  /// 528 MB for VGG-16), and computes what the importer's copying path
  /// does, bit for bit.
  func testLoadedModelsHoldTheWeightsOnce() throws {
    for name in ["resnet-blocks", "mnist-cnn", "alexnet-like"] {
      let model = try ONNXModel.decode(fixture(name, "model.onnx"), path: name)
      XCTAssertFalse(model.graph.initializers.isEmpty)
      var copied = try model.makeNetwork(path: name)
      let loaded = try LoadedModel(model, path: name)
      guard case .onnx(let kept) = loaded.source else { return XCTFail(name) }
      XCTAssertTrue(kept.graph.initializers.isEmpty, name)
      XCTAssertEqual(kept.graph.dataInputs.map(\.name), model.graph.dataInputs.map(\.name), name)
      XCTAssertEqual(kept.opset, model.opset)
      let input = try tensor(name, "input_0.pb")
      var network = loaded.network
      XCTAssertEqual(
        try network.forward(input, mode: .inference).storage,
        try copied.forward(input, mode: .inference).storage, name)
    }
  }

  /// The MNIST fixture re-saved by the `onnx` library
  /// (Fixtures/onnx/make_storage_fixtures.py): every initializer in an
  /// external `weights.bin`, and every float initializer as float16; each
  /// computes onnxruntime's output (for float16, of the same weights
  /// widened to float32) within 1e-5 of the output's scale.
  func testExternalDataAndFloat16AsTheOnnxLibraryWritesThem() throws {
    let input = try tensor("mnist-cnn", "input_0.pb")
    for name in ["external-data", "float16"] {
      let url = try XCTUnwrap(
        Bundle.module.url(forResource: "Fixtures/onnx/\(name)/model.onnx", withExtension: nil))
      let model = try ONNXModel.read(from: url.path)
      let expected = try XCTUnwrap(
        try ONNXTensor.decode(
          serialized: [UInt8](
            Data(contentsOf: url.deletingLastPathComponent().appendingPathComponent("output_0.pb")))
        ).floatTensor)
      var network = try model.makeNetwork(path: name)
      let output = try network.forward(input, mode: .inference)
      XCTAssertEqual(output.shape, expected.shape, name)
      let scale = max(1, expected.storage.map(abs).max() ?? 0)
      let worst = zip(output.storage, expected.storage).map { abs($0 - $1) }.max() ?? .infinity
      XCTAssertLessThanOrEqual(worst, 1e-5 * scale, name)
    }
    // Without its folder, the external-data model names what it lacks.
    let url = try XCTUnwrap(
      Bundle.module.url(forResource: "Fixtures/onnx/external-data/model.onnx", withExtension: nil))
    XCTAssertThrowsError(try ONNXModel.decode([UInt8](Data(contentsOf: url)), path: "m.onnx")) {
      XCTAssertTrue("\($0)".hasPrefix("m.onnx: "), "\($0)")
    }
  }
}
