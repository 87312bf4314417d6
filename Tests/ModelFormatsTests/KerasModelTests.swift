import Engine
import Foundation
import Tensors
import XCTest

@testable import ModelFormats

/// Keras files saved by Keras itself (Fixtures/make_keras_models.py): each
/// loads into the engine and computes Keras's `predict` within 2e-6 of
/// the largest output (measured: 2.5e-8 to 6.9e-7).
final class KerasModelTests: XCTestCase {
  static let models = ["mnist-narrow", "branches", "mobilenet", "layers"]

  static func fixture(_ name: String, _ file: String) throws -> [UInt8] {
    let url = try XCTUnwrap(
      Bundle.module.url(forResource: "Fixtures/keras/\(name)/\(file)", withExtension: nil))
    return [UInt8](try Data(contentsOf: url))
  }

  /// Keras's batch, moved from (N, H, W, C) to the engine's (N, C, H, W),
  /// and Keras's output for it.
  static func reference(_ name: String) throws -> (input: Tensor, output: Tensor) {
    let object = try JSONSerialization.jsonObject(with: Data(fixture(name, "reference.json")))
    let json = try XCTUnwrap(object as? [String: Any])
    let dims = try XCTUnwrap(json["input_shape"] as? [Int])
    let values = try XCTUnwrap(json["input"] as? [Double]).map(Float.init)
    let outputDims = try XCTUnwrap(json["output_shape"] as? [Int])
    let output = try XCTUnwrap(json["output"] as? [Double]).map(Float.init)
    XCTAssertEqual(dims.count, 4)
    let (n, h, w, c) = (dims[0], dims[1], dims[2], dims[3])
    var nchw = [Float](repeating: 0, count: values.count)
    for s in 0..<n {
      for y in 0..<h {
        for x in 0..<w {
          for k in 0..<c {
            nchw[((s * c + k) * h + y) * w + x] = values[((s * h + y) * w + x) * c + k]
          }
        }
      }
    }
    return (
      Tensor(shape: Shape(n, c, h, w), storage: nchw),
      Tensor(shape: Shape(outputDims), storage: output)
    )
  }

  /// The largest difference, relative to the output's largest magnitude.
  static func assertClose(
    _ output: Tensor, _ expected: Tensor, _ message: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(output.shape, expected.shape, message, file: file, line: line)
    let scale = max(expected.storage.map(abs).max() ?? 1, 1e-3)
    let error = zip(output.storage, expected.storage).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(error / scale, 2e-6, message, file: file, line: line)
  }

  func testEverySavedFormComputesKerassPredictions() throws {
    for name in Self.models {
      let (input, expected) = try Self.reference(name)
      for file in ["model.keras", "model.h5"] {
        let model = try KerasModel.decode(Self.fixture(name, file), path: file)
        XCTAssertNotNil(model.architecture, "\(name)/\(file)")
        XCTAssertEqual(model.kerasVersion, "3.15.1", "\(name)/\(file)")
        var network = try model.makeNetwork(path: file)
        let output = try network.forward(input, mode: .inference)
        Self.assertClose(output, expected, "\(name)/\(file)")
      }
    }
  }

  /// libhdf5 is opened when an HDF5 file is first read, not linked (see
  /// cvz_hdf5_shims.h; ConvvizCLITests' LazyLibraryTests checks that image
  /// commands never map it): after reading one it is in the memory map.
  func testReadingAnHDF5FileLoadsLibHDF5() throws {
    _ = try KerasModel.decode(Self.fixture("mnist-narrow", "model.h5"), path: "model.h5")
    // Read to the end: /proc files come a page per read.
    let maps = String(
      decoding: try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/maps"))
        .readDataToEndOfFile(), as: UTF8.self)
    XCTAssertTrue(maps.contains("libhdf5"), "libhdf5 is not mapped")
  }

  func testWeightsOnlyFilesLoadWithTheSpecAsArchitecture() throws {
    let spec = try ModelSpec.parse(
      String(decoding: Self.fixture("mnist-narrow", "spec.txt"), as: UTF8.self))
    let (input, expected) = try Self.reference("mnist-narrow")
    for file in ["model.weights.h5", "legacy.weights.h5"] {
      let model = try KerasModel.decode(Self.fixture("mnist-narrow", file), path: file)
      XCTAssertNil(model.architecture)
      XCTAssertEqual(model.format, .weightsOnly)
      XCTAssertThrowsError(try model.makeGraph()) {
        XCTAssertEqual($0 as? KerasProblem, .weightsWithoutArchitecture)
      }
      let loaded = LoadedModel(try model.modelFile(spec: spec))
      var network = loaded.network
      Self.assertClose(try network.forward(input, mode: .inference), expected, file)
    }
  }

  /// A Sequential model becomes the convviz spec it mirrors, its weights a
  /// model file that computes Keras's outputs; a Functional one is refused.
  func testSequentialModelsBecomeASpecAndAModelFile() throws {
    let spec = try ModelSpec.parse(
      String(decoding: Self.fixture("mnist-narrow", "spec.txt"), as: UTF8.self))
    let (input, expected) = try Self.reference("mnist-narrow")
    for file in ["model.keras", "model.h5"] {
      let model = try KerasModel.decode(Self.fixture("mnist-narrow", file), path: file)
      XCTAssertEqual(try model.sequentialSpec(), spec, file)
      var network = LoadedModel(try model.modelFile()).network
      Self.assertClose(try network.forward(input, mode: .inference), expected, file)
    }
    let branches = try KerasModel.decode(Self.fixture("branches", "model.keras"), path: "b")
    XCTAssertThrowsError(try branches.sequentialSpec()) {
      XCTAssertEqual($0 as? KerasProblem, .notSequential(className: "Functional"))
    }
  }

  /// A BatchNormalization right after a convolution is folded into it (as
  /// for ONNX); the others stay. The unfolded graph, the reference, gives
  /// the same outputs.
  func testBatchNormalizationsAfterConvolutionsAreFolded() throws {
    for (name, kept) in [("mobilenet", [String]()), ("layers", ["shift_bn", "features_bn"])] {
      let model = try KerasModel.decode(Self.fixture(name, "model.keras"), path: name)
      let graph = try model.makeGraph()
      XCTAssertEqual(
        graph.nodes.filter { $0.op is BatchNormalization }.map(\.name), kept, name)
      var builder = KerasGraphBuilder(
        architecture: try XCTUnwrap(model.architecture), weights: model.weights)
      let unfolded = try builder.run()
      XCTAssertGreaterThan(
        unfolded.nodes.filter { $0.op is BatchNormalization }.count, kept.count, name)
      let (input, _) = try Self.reference(name)
      var folded = Network(graph)
      var reference = Network(unfolded)
      Self.assertClose(
        try folded.forward(input, mode: .inference),
        try reference.forward(input, mode: .inference), name)
    }
  }
}
