import Foundation
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats

/// The export against onnxruntime: scripts/make-onnx-fixtures.py exported
/// the committed model.bin fixtures with `convviz export`, ran them in
/// onnxruntime on a fixed batch and committed batch and output as
/// TensorProto files. These tests need neither Python nor onnxruntime.
final class ONNXExportTests: XCTestCase {
  static let fixtures = ["all-layers", "flatten-transpose"]

  private func fixture(_ name: String, _ file: String) throws -> [UInt8] {
    let url = try XCTUnwrap(
      Bundle.module.url(forResource: "Fixtures/onnx/\(name)/\(file)", withExtension: nil),
      "\(name)/\(file) missing; run scripts/make-onnx-fixtures.py")
    return [UInt8](try Data(contentsOf: url))
  }

  private func modelFile(_ name: String) throws -> ModelFile {
    try ModelFile.decode(fixture(name, "model.bin"), path: "\(name)/model.bin")
  }

  private func tensor(_ name: String, _ file: String) throws -> Tensor {
    try XCTUnwrap(try ONNXTensor.decode(serialized: fixture(name, file)).floatTensor)
  }

  /// The bytes onnxruntime ran are the bytes this exporter writes, so the
  /// reference outputs belong to this export.
  func testExportIsTheFileOnnxruntimeRan() throws {
    for name in Self.fixtures {
      let exported = ONNXModel(exporting: try modelFile(name)).encoded()
      XCTAssertEqual(
        exported, try fixture(name, "model.onnx"),
        "\(name): the export changed; rerun scripts/make-onnx-fixtures.py")
    }
  }

  func testConvvizForwardMatchesOnnxruntimeWithin1e5() throws {
    for name in Self.fixtures {
      var network = try modelFile(name).makeModel()
      let input = try tensor(name, "input_0.pb")
      let expected = try tensor(name, "output_0.pb")
      let output = try network.forward(input, mode: .inference)
      XCTAssertEqual(output.shape, expected.shape, name)
      let worst = zip(output.storage, expected.storage).map { abs($0 - $1) }.max() ?? .infinity
      XCTAssertLessThanOrEqual(worst, 1e-5, name)
      print("\(name): largest difference from onnxruntime \(worst)")
      // Not a trivially equal output: the samples are told apart.
      XCTAssertNotEqual(
        Array(expected.storage[0..<expected.shape[1]]),
        Array(expected.storage[expected.shape[1]..<(2 * expected.shape[1])]), name)
    }
  }

  /// Every weight read back from the written file, bit for bit, at the
  /// place ONNX's layouts put it (worked out here independently of the
  /// exporter: OIHW for Conv, Flatten's (C, H, W) order for Gemm's rows).
  func testReadingBackGivesTheSameWeightsBitForBit() throws {
    let file = try modelFile("all-layers")
    let back = try ONNXModel.decode(ONNXModel(exporting: file).encoded(), path: "x.onnx")
    func stored(_ name: String) throws -> Tensor {
      try XCTUnwrap(back.graph.initializer(named: name)?.floatTensor, name)
    }
    let parameters = Dictionary(
      uniqueKeysWithValues: file.parameters.map { ($0.name, $0.tensor) })
    var checked = 0
    for layer in ["conv2d", "conv2d_1"] {
      let hwio = try XCTUnwrap(parameters[layer + "/kernel"])
      let oihw = try stored(layer + "/kernel")
      let (kh, kw, cin, cout) = (hwio.shape[0], hwio.shape[1], hwio.shape[2], hwio.shape[3])
      XCTAssertEqual(oihw.shape, Shape(cout, cin, kh, kw))
      for o in 0..<cout {
        for i in 0..<cin {
          for y in 0..<kh {
            for x in 0..<kw {
              XCTAssertEqual(
                oihw.storage[((o * cin + i) * kh + y) * kw + x].bitPattern,
                hwio.storage[((y * kw + x) * cin + i) * cout + o].bitPattern)
              checked += 1
            }
          }
        }
      }
    }
    // dense reads Flatten of a 2×2×6 image: convviz's feature
    // (y·2 + x)·6 + c is ONNX's (c·2 + y)·2 + x.
    let dense = try XCTUnwrap(parameters["dense/kernel"])
    let gemm = try stored("dense/kernel")
    XCTAssertEqual(gemm.shape, dense.shape)
    let units = dense.shape[1]
    for c in 0..<6 {
      for y in 0..<2 {
        for x in 0..<2 {
          for u in 0..<units {
            XCTAssertEqual(
              gemm.storage[((c * 2 + y) * 2 + x) * units + u].bitPattern,
              dense.storage[((y * 2 + x) * 6 + c) * units + u].bitPattern)
            checked += 1
          }
        }
      }
    }
    XCTAssertEqual(
      try stored("dense_1/kernel").storage.map(\.bitPattern),
      try XCTUnwrap(parameters["dense_1/kernel"]).storage.map(\.bitPattern))
    for name in ["conv2d/bias", "conv2d_1/bias", "dense/bias", "dense_1/bias"] {
      XCTAssertEqual(
        try stored(name).storage.map(\.bitPattern),
        try XCTUnwrap(parameters[name]).storage.map(\.bitPattern), name)
    }
    XCTAssertEqual(checked, 4 * 9 + 6 * 4 * 6 + 24 * 8)
  }

  func testGraphLayoutAndMetadata() throws {
    let all = ONNXModel(exporting: try modelFile("all-layers"))
    XCTAssertEqual(all.opset, 13)
    XCTAssertEqual(
      all.graph.inputs,
      [ONNXValueInfo(name: "input", dims: [.named("N"), .fixed(1), .fixed(28), .fixed(28)])])
    XCTAssertEqual(all.graph.outputs.map(\.name), ["dense_1"])
    XCTAssertEqual(
      all.graph.nodes.map(\.opType),
      [
        "Conv", "Relu", "Conv", "Tanh", "MaxPool", "AveragePool", "Mul", "AveragePool", "Sqrt",
        "Sigmoid", "Dropout", "Flatten", "Gemm", "Relu", "Dropout", "Gemm", "Softmax",
      ])
    // TensorFlow's `same` split for 28 → 14 with a 3×3 kernel, stride 2:
    // one cell of padding in all, at the bottom and right.
    XCTAssertEqual(all.graph.nodes[0].attribute("pads"), .ints([0, 0, 1, 1]))
    XCTAssertTrue(all.metadataValue("convviz.input_layout")?.hasPrefix("NCHW") ?? false)
    XCTAssertEqual(
      all.metadataValue("convviz.spec"), try modelFile("all-layers").spec.canonicalText)
    // The preprocessing: [0, 1] and RGB, no mean or std; read back as such.
    XCTAssertEqual(all.metadataValue("convviz.pixel_scale"), "1")
    XCTAssertEqual(all.metadataValue("convviz.channel_order"), "rgb")
    XCTAssertNil(all.metadataValue("convviz.mean"))
    XCTAssertEqual(try LoadedModel(all, path: "all-layers.onnx").preprocessing, .standard)
    var normalized = all
    normalized.metadata += Preprocessing.imagenet.metadataEntries.map {
      ONNXMetadataEntry($0.key, $0.value)
    }
    normalized.metadata.removeAll { $0.key == "convviz.pixel_scale" && $0.value == "1" }
    XCTAssertEqual(
      try LoadedModel(normalized, path: "normalized.onnx").preprocessing, .imagenet)

    let transposed = ONNXModel(exporting: try modelFile("flatten-transpose"))
    XCTAssertEqual(
      transposed.graph.nodes.map(\.opType),
      ["Conv", "Relu", "MaxPool", "Transpose", "Flatten", "Softmax"])
    XCTAssertEqual(transposed.graph.nodes[3].attribute("perm"), .ints([0, 2, 3, 1]))
  }
}
