import Foundation
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats

/// ONNX's own node tests (Debian's libonnx-testdata) of the element-wise,
/// broadcasting and shape ops, run through the importer and the engine.
/// The engine's graphs have one computed input, whose first axis is the
/// batch: the largest input of a test is that input and the others become
/// constants. A test the engine cannot take (an input of one axis, which
/// is all batch; an op along or across the batch axis; integer data; an
/// opset older than 7) is refused at load with the reason printed, never
/// run wrongly.
final class ONNXShapeConformanceTests: XCTestCase {
  static let ops = [
    "leakyrelu", "clip", "hardsigmoid", "hardswish", "relu", "mul", "add", "sub", "div",
    "reshape", "squeeze", "unsqueeze", "flatten", "transpose", "constant_pad", "edge_pad",
    "reflect_pad", "wrap_pad", "softmax", "concat", "identity", "dropout", "shape", "cast",
    "slice",
  ]

  func testShapeOpNodeTestsMatchTheirOutputs() throws {
    let names = try NodeTests.names()
    var passed: [String] = []
    var refused: [String: String] = [:]
    for name in names where NodeTests.isTest(name, ofOneOf: Self.ops) {
      guard !name.hasSuffix("_expanded") || name == "test_hardswish_expanded",
        !name.hasPrefix("test_castlike")
      else { continue }
      let folder = "\(NodeTests.root)/\(name)"
      var model: ONNXModel
      do {
        model = try ONNXModel.read(from: folder + "/model.onnx")
      } catch {
        refused[name] = "\(error)"
        continue
      }
      func tensor(_ file: String) throws -> ONNXTensor? { try NodeTests.tensor(folder, file) }
      do {
        let inputs = model.graph.dataInputs
        var values: [ONNXTensor] = []
        for i in inputs.indices {
          guard var value = try tensor("input_\(i).pb") else { continue }
          value.name = inputs[i].name
          values.append(value)
        }
        // The largest input is computed, the others are constants.
        let main =
          values.indices.max { values[$0].dims.reduce(1, *) < values[$1].dims.reduce(1, *) } ?? 0
        for (i, value) in values.enumerated() where i != main {
          model.graph.initializers.append(value)
        }
        model.graph.inputs.removeAll { info in
          values.indices.contains { $0 != main && values[$0].name == info.name }
        }
        if model.graph.outputs.first?.elementType == .int64 {
          // Shape: the output is folded when the model loads.
          try checkFolded(model, expected: try tensor("output_0.pb"), name: name)
          passed.append(name)
          continue
        }
        var network = Network(try model.makeGraph())
        let x = try XCTUnwrap(values[main].floatTensor, name)
        let expected = try XCTUnwrap(try tensor("output_0.pb")?.floatTensor, name)
        let output = try network.forward(x, mode: .inference)
        XCTAssertEqual(output.shape, expected.shape, name)
        XCTAssertLessThanOrEqual(NodeTests.worstRelativeDifference(output, expected), 1e-5, name)
        passed.append(name)
      } catch {
        refused[name] = "\(error)"
      }
    }
    // At least these: every op (HardSigmoid in HardSwish's expansion; its
    // own tests are opset 6), each broadcasting form, Reshape's 0 and
    // -1, the opset 11 and 13 Softmax, Pad's constant, Shape's slices.
    NodeTests.report(
      "element-wise and shape ops", passed: passed, refused: refused,
      required: [
        "test_leakyrelu", "test_leakyrelu_default", "test_clip", "test_clip_default_min",
        "test_clip_default_max", "test_hardswish_expanded", "test_hardswish",
        "test_add", "test_add_bcast", "test_sub_bcast", "test_mul", "test_mul_bcast", "test_div",
        "test_div_bcast", "test_reshape_negative_dim", "test_reshape_zero_and_negative_dim",
        "test_reshape_extended_dims", "test_squeeze_negative_axes", "test_unsqueeze_unsorted_axes",
        "test_unsqueeze_three_axes", "test_flatten_axis1", "test_flatten_negative_axis3",
        "test_transpose_all_permutations_1", "test_constant_pad", "test_softmax_axis_1",
        "test_softmax_axis_2", "test_softmax_default_axis", "test_softmax_large_number",
        "test_concat_2d_axis_1", "test_concat_3d_axis_2", "test_concat_3d_axis_negative_2",
        "test_identity", "test_shape", "test_shape_start_1_end_negative_1", "test_shape_clip_end",
        "test_cast_FLOAT_to_DOUBLE",
      ])
  }

  /// The graph output of `model`, an integer tensor, as folded at load
  /// (the batch size read as the declared one).
  private func checkFolded(_ model: ONNXModel, expected: ONNXTensor?, name: String) throws {
    var importer = try ONNXImporter(model)
    for k in importer.topologicalOrder() { try importer.translate(k) }
    let output = try XCTUnwrap(model.graph.outputs.first?.name)
    guard case .ints(let value) = importer.known(output) else {
      return XCTFail("\(name): \(output) is not folded")
    }
    let batch = Int64(try XCTUnwrap(importer.declaredBatch))
    let numbers = value.elements.map { element -> Int64 in
      if case .value(let v) = element { return v }
      return batch
    }
    XCTAssertEqual(numbers, expected?.int64Values, name)
    XCTAssertEqual(value.dims, expected?.dims, name)
  }
}
