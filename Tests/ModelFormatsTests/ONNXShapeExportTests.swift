import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats

/// The ONNX form of the element-wise and shape ops, written by the graph
/// writer and read back through the importer: the same outputs.
final class ONNXShapeExportTests: XCTestCase {
  func testEveryOpComesBackComputingTheSame() throws {
    var generator = SeededGenerator(seed: 50)
    func random(_ shape: Shape) -> Tensor {
      Tensor(shape: shape, storage: (0..<shape.count).map { _ in generator.nextFloat(in: -2, 2) })
    }
    let nodes = [
      Graph.Node("leaky", ParametricActivation(.leakyRelu(alpha: 0.2)), inputs: ["x"]),
      Graph.Node("six", ParametricActivation(.clip(low: -1, high: 1.5)), inputs: ["leaky"]),
      Graph.Node("hs", ParametricActivation(.hardSwish), inputs: ["six"]),
      Graph.Node(
        "hsig", ParametricActivation(.hardSigmoid(alpha: 0.3, beta: 0.4)), inputs: ["hs"]),
      Graph.Node(
        "scale", Arithmetic(.multiply, constant: random(Shape(4, 1, 1))), inputs: ["hsig"]),
      Graph.Node(
        "minus", Arithmetic(.subtract, constant: random(Shape(3)), constantFirst: true),
        inputs: ["scale"]),
      Graph.Node("join", Arithmetic(.add), inputs: ["minus", "x"]),
      Graph.Node("split", Reshape(to: Shape(2, 2, 2, 3)), inputs: ["join"]),
      Graph.Node("swap", Transpose(permutation: [1, 0, 2, 3]), inputs: ["split"]),
      Graph.Node("back", Reshape(to: Shape(4, 2, 3), kind: "Squeeze"), inputs: ["swap"]),
      Graph.Node(
        "pad", Pad(before: [0, 1, 0], after: [0, 0, 2], border: .constant(0.5)),
        inputs: ["back"]),
      Graph.Node(
        "mirror", Pad(before: [0, 1, 1], after: [0, 1, 1], border: .reflect),
        inputs: ["pad"]),
      Graph.Node("rows", Softmax(axes: 2..<3), inputs: ["mirror"]),
      Graph.Node("planes", Softmax(axes: 1..<3), inputs: ["rows"]),
      Graph.Node("wide", Concatenate(axis: 2), inputs: ["planes", "planes"]),
      Graph.Node("wide2", Concatenate(axis: 2), inputs: ["rows", "planes"]),
      Graph.Node("ratio", Arithmetic(.divide), inputs: ["wide", "wide2"]),
    ]
    let graph = try Graph(input: "x", shape: Shape(4, 2, 3), nodes: nodes, output: "ratio")
    // The graph writer (`convviz export` of any model) takes each node's
    // form from ONNXShapeExport.
    let model = try ONNXModel(exporting: graph)
    var imported = try ONNXModel.decode(model.encoded(), path: "m").makeNetwork(path: "m")
    var original = Network(graph)
    let x = random(Shape(2, 4, 2, 3))
    let expected = try original.forward(x, mode: .inference)
    let output = try imported.forward(x, mode: .inference)
    XCTAssertEqual(output.shape, expected.shape)
    XCTAssertLessThan(output.maxAbsoluteDifference(to: expected), 1e-6)
    XCTAssertGreaterThan(expected.storage.max() ?? 0, 1.5, "an output that tells ops apart")
    XCTAssertEqual(
      imported.graph.nodes.map(\.op.kind).filter { $0 == "Softmax" }.count, 2)
    // The constant operands went out as initializers and came back.
    XCTAssertEqual(imported.parameterCount, original.parameterCount)
    XCTAssertNil(
      ONNXShapeExport.form(
        of: ConstantTensor(Tensor(zeros: Shape(1, 2))), name: "c", inputs: ["x"],
        inputShapes: [Shape(2)], output: "c"))
  }
}
