import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats

/// The shape computations exporters write, folded when the model loads:
/// each value checked by hand, with the batch size kept symbolic.
final class ONNXFoldingTests: XCTestCase {
  private func ints(_ name: String, _ values: [Int64], dims: [Int]? = nil) -> ONNXTensor {
    ONNXTensor(name: name, dims: dims ?? [values.count], int64: values)
  }

  /// Runs the importer over `nodes` reading x (N, 8, 2, 3) and returns it.
  private func importer(_ nodes: [ONNXNode], _ constants: [ONNXTensor]) throws -> ONNXImporter {
    let model = ONNXModel(
      opset: 13,
      graph: ONNXGraph(
        name: "g",
        inputs: [ONNXValueInfo(name: "x", dims: [.named("N"), .fixed(8), .fixed(2), .fixed(3)])],
        outputs: [ONNXValueInfo(name: "x", dims: nil)], nodes: nodes, initializers: constants))
    var importer = try ONNXImporter(model)
    for k in importer.topologicalOrder() { try importer.translate(k) }
    return importer
  }

  private func value(_ importer: ONNXImporter, _ name: String) -> [ShapeElement]? {
    guard case .ints(let value) = importer.known(name) else { return nil }
    return value.elements
  }

  /// torchvision's channel_shuffle as traced: channels_per_group =
  /// num_channels // groups from the shape, and the sizes sliced off it.
  func testShapeArithmeticFolds() throws {
    let importer = try importer(
      [
        ONNXNode(name: "shape", opType: "Shape", inputs: ["x"], outputs: ["s"]),
        ONNXNode(name: "c", opType: "Gather", inputs: ["s", "one"], outputs: ["c"]),
        ONNXNode(name: "per", opType: "Div", inputs: ["c", "groups"], outputs: ["per"]),
        ONNXNode(
          name: "cast", opType: "Cast", inputs: ["per"], outputs: ["per64"],
          attributes: [ONNXAttribute("to", .int(7))]),
        ONNXNode(name: "hw", opType: "Slice", inputs: ["s", "two", "end"], outputs: ["hw"]),
        ONNXNode(name: "n", opType: "Gather", inputs: ["s", "zero"], outputs: ["n"]),
        ONNXNode(name: "n1", opType: "Mul", inputs: ["n", "oneValue"], outputs: ["n1"]),
        ONNXNode(name: "un", opType: "Unsqueeze", inputs: ["n1", "axes"], outputs: ["nu"]),
        ONNXNode(name: "up", opType: "Unsqueeze", inputs: ["per64", "axes"], outputs: ["pu"]),
        ONNXNode(
          name: "all", opType: "Concat", inputs: ["nu", "groupsVector", "pu", "hw"],
          outputs: ["shape5"], attributes: [ONNXAttribute("axis", .int(0))]),
        ONNXNode(
          name: "tail", opType: "Shape", inputs: ["x"], outputs: ["t"],
          attributes: [ONNXAttribute("start", .int(-2))]),
      ],
      [
        ints("one", [1], dims: []), ints("zero", [0], dims: []), ints("groups", [2], dims: []),
        ints("two", [2]), ints("end", [Int64.max]), ints("oneValue", [1], dims: []),
        ints("axes", [0]), ints("groupsVector", [2]),
      ])
    XCTAssertEqual(value(importer, "s"), [.batch, .value(8), .value(2), .value(3)])
    XCTAssertEqual(importer.constants["per"]?.int64Values, [4])
    XCTAssertEqual(importer.constants["hw"]?.int64Values, [2, 3])
    XCTAssertEqual(value(importer, "nu"), [.batch])
    XCTAssertEqual(
      value(importer, "shape5"), [.batch, .value(2), .value(4), .value(2), .value(3)])
    XCTAssertEqual(importer.constants["t"]?.int64Values, [2, 3])
    XCTAssertTrue(importer.nodes.isEmpty, "nothing is left for the engine to run")
  }

  /// The batch size plus one is not known at load: refused, naming the node.
  func testUnknownBatchArithmeticIsRefused() throws {
    XCTAssertThrowsError(
      try importer(
        [
          ONNXNode(name: "shape", opType: "Shape", inputs: ["x"], outputs: ["s"]),
          ONNXNode(name: "plus", opType: "Add", inputs: ["s", "one"], outputs: ["p"]),
        ], [ints("one", [1])])
    ) { error in
      guard case .unsupportedNode(let node, let op, let reason) = error as? ONNXProblem else {
        return XCTFail("\(error)")
      }
      XCTAssertEqual(node, "plus")
      XCTAssertEqual(op, "Add")
      XCTAssertTrue(reason.contains("cannot fold"), reason)
    }
  }
}
