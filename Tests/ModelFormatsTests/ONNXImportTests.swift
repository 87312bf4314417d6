import Foundation
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats

/// ONNX → engine graph: convviz's own exports come back computing the same
/// bits, an op the engine lacks is refused by name, and ONNX's node tests
/// of the ops it has run to their expected outputs.
final class ONNXImportTests: XCTestCase {
  private func fixture(_ name: String, _ file: String) throws -> [UInt8] {
    let url = try XCTUnwrap(
      Bundle.module.url(forResource: "Fixtures/onnx/\(name)/\(file)", withExtension: nil))
    return [UInt8](try Data(contentsOf: url))
  }

  func testExportedModelsComeBackBitIdentical() throws {
    for name in ONNXExportTests.fixtures {
      let file = try ModelFile.decode(fixture(name, "model.bin"), path: name)
      let input = try XCTUnwrap(
        try ONNXTensor.decode(serialized: fixture(name, "input_0.pb")).floatTensor)
      var original = file.makeModel()
      let onnx = try ONNXModel.decode(ONNXModel(exporting: file).encoded(), path: name)
      var imported = try onnx.makeNetwork(path: name)
      let expected = try original.forward(input, mode: .inference)
      let output = try imported.forward(input, mode: .inference)
      XCTAssertEqual(output.shape, expected.shape, name)
      XCTAssertEqual(output.storage.map(\.bitPattern), expected.storage.map(\.bitPattern), name)
      XCTAssertEqual(imported.parameterCount, original.parameterCount, name)
      // Every row's tensor is there under its layer name.
      for row in file.spec.layerNames {
        XCTAssertNoThrow(try imported.activation(of: row, for: input), "\(name): \(row)")
      }
    }
  }

  func testUnknownOpIsRefusedNamingNodeOpAndTheSupportedList() throws {
    let file = try ModelFile.decode(fixture("all-layers", "model.bin"), path: "m")
    var onnx = ONNXModel(exporting: file)
    let k = try XCTUnwrap(onnx.graph.nodes.firstIndex { $0.opType == "Tanh" })
    onnx.graph.nodes[k].opType = "Elu"
    XCTAssertThrowsError(try onnx.makeNetwork(path: "m.onnx")) { error in
      guard
        case .onnx(_, .unsupportedOperation(let node, let op, let supported)) =
          error as? ModelFileError
      else { return XCTFail("\(error)") }
      XCTAssertEqual(node, "conv2d_1/tanh")
      XCTAssertEqual(op, "Elu")
      XCTAssertEqual(supported, ONNXModel.importableOperations)
      let message = "\(error)"
      XCTAssertTrue(message.hasPrefix("m.onnx: node 'conv2d_1/tanh' has op Elu"), message)
      XCTAssertTrue(message.contains("Concat, Constant, Conv, Div, Dropout"), message)
    }
  }

  func testUnsupportedAttributesAreRefusedNamingTheNode() throws {
    let file = try ModelFile.decode(fixture("all-layers", "model.bin"), path: "m")
    var onnx = ONNXModel(exporting: file)
    let group = try XCTUnwrap(onnx.graph.nodes[0].attributes.firstIndex { $0.name == "group" })
    onnx.graph.nodes[0].attributes[group].value = .int(0)
    XCTAssertThrowsError(try onnx.makeGraph()) {
      guard case .unsupportedNode("conv2d", "Conv", let reason) = $0 as? ONNXProblem else {
        return XCTFail("\($0)")
      }
      XCTAssertTrue(reason.hasSuffix("filters in 0 groups"), reason)
    }
  }

  /// A node without inputs or without an output is refused by name, not
  /// trapped on (CI's fuzzer found an AveragePool with no inputs).
  func testNodesMissingInputsOrOutputsAreRefusedNamingThem() throws {
    let file = try ModelFile.decode(fixture("all-layers", "model.bin"), path: "m")
    for op in ["AveragePool", "MaxPool", "Conv", "Relu", "Reshape", "Slice"] {
      var onnx = ONNXModel(exporting: file)
      onnx.graph.nodes[0].opType = op
      onnx.graph.nodes[0].inputs = []
      XCTAssertThrowsError(try onnx.makeGraph(), op) {
        guard case .unsupportedNode(_, op, _) = $0 as? ONNXProblem else {
          return XCTFail("\(op): \($0)")
        }
      }
      var noOutput = ONNXModel(exporting: file)
      noOutput.graph.nodes[0].opType = op
      noOutput.graph.nodes[0].outputs = []
      XCTAssertThrowsError(try noOutput.makeGraph(), op) {
        guard case .unsupportedNode(_, op, "it has no output") = $0 as? ONNXProblem else {
          return XCTFail("\(op): \($0)")
        }
      }
    }
  }

  /// Sizes whose shape arithmetic would overflow are refused, not trapped
  /// on: a huge input, and pads far beyond any window.
  func testHugeSizesAreRefusedBeforeShapeArithmetic() throws {
    let file = try ModelFile.decode(fixture("all-layers", "model.bin"), path: "m")
    var onnx = ONNXModel(exporting: file)
    onnx.graph.inputs[0].dims = [.named("N"), .fixed(1 << 40), .fixed(1 << 40), .fixed(1 << 40)]
    guard case .unsupportedGraph(let reason) = try problem(onnx) else { return XCTFail() }
    XCTAssertTrue(reason.contains("values per sample"), reason)

    onnx = ONNXModel(exporting: file)
    let pads = try XCTUnwrap(onnx.graph.nodes[0].attributes.firstIndex { $0.name == "pads" })
    onnx.graph.nodes[0].attributes[pads].value = .ints([1 << 62, 0, 1 << 62, 0])
    XCTAssertEqual(
      try problem(onnx),
      .unsupportedNode(node: "conv2d", op: "Conv", reason: "pads [\(1 << 62), 0, \(1 << 62), 0]"))
  }

  private func problem(_ model: ONNXModel) throws -> ONNXProblem? {
    do {
      _ = try model.makeGraph()
      return nil
    } catch {
      return error
    }
  }

  /// ONNX's node tests of the importable ops: the extra inputs (weights)
  /// become initializers; a test the engine cannot take (rank-3 data, a
  /// group, ceil_mode…) is refused with a reason, never run wrongly.
  func testNodeTestsOfImportableOpsMatchTheirOutputs() throws {
    let names = try NodeTests.names()
    let prefixes = [
      "relu", "sigmoid", "tanh", "softmax", "flatten", "conv", "maxpool", "averagepool", "gemm",
      "matmul", "add", "concat", "identity", "dropout",
    ]
    var passed: [String] = []
    var refused: [String: String] = [:]
    for name in names where NodeTests.isTest(name, ofOneOf: prefixes) {
      guard !name.hasSuffix("_expanded"), !name.hasPrefix("test_convtranspose"),
        !name.hasPrefix("test_convinteger")
      else { continue }
      let folder = "\(NodeTests.root)/\(name)"
      guard var model = try? ONNXModel.read(from: folder + "/model.onnx") else { continue }
      func tensor(_ file: String) throws -> ONNXTensor? { try NodeTests.tensor(folder, file) }
      do {
        let inputs = model.graph.dataInputs
        for (i, info) in inputs.enumerated().dropFirst() {
          guard var value = try tensor("input_\(i).pb") else { continue }
          value.name = info.name
          model.graph.initializers.append(value)
        }
        var network = Network(try model.makeGraph())
        let x = try XCTUnwrap(try tensor("input_0.pb")?.floatTensor, name)
        let expected = try XCTUnwrap(try tensor("output_0.pb")?.floatTensor, name)
        let output = try network.forward(x, mode: .inference)
        XCTAssertEqual(output.count, expected.count, name)
        XCTAssertLessThanOrEqual(NodeTests.worstRelativeDifference(output, expected), 1e-4, name)
        passed.append(name)
      } catch {
        refused[name] = "\(error)"
      }
    }
    // At least these, one or more per importable op and padding mode.
    NodeTests.report(
      "importable ops", passed: passed, refused: refused,
      required: [
        "test_relu", "test_sigmoid", "test_tanh", "test_identity", "test_dropout_default",
        "test_softmax_example", "test_softmax_large_number", "test_conv_with_strides_padding",
        "test_conv_with_strides_and_asymmetric_padding", "test_conv_with_autopad_same",
        "test_maxpool_2d_pads", "test_maxpool_2d_same_lower", "test_maxpool_2d_strides",
        "test_averagepool_2d_pads", "test_averagepool_2d_same_upper", "test_gemm_transposeB",
        "test_gemm_default_vector_bias", "test_gemm_default_scalar_bias", "test_matmul_2d",
      ])
  }
}
