import Tensors
import XCTest

@testable import Engine

final class GraphTests: XCTestCase {
  /// y = x + relu(x·W + b): the smallest residual block.
  func residualBlock() throws -> Network {
    let dense = Dense(
      kernel: Tensor(shape: Shape(2, 2), storage: [1, 2, 3, -1]),
      bias: Tensor(shape: Shape(2), storage: [0.5, 0]))
    return Network(
      try Graph(
        input: "x", shape: Shape(2),
        nodes: [
          Graph.Node("fc", dense, inputs: ["x"], output: "h"),
          Graph.Node("relu", Activation(.relu), inputs: ["h"], output: "r"),
          Graph.Node("add", Add(), inputs: ["x", "r"], output: "y"),
        ],
        output: "y"))
  }

  func testResidualAddForwardAndBackwardByHand() throws {
    var network = try residualBlock()
    XCTAssertEqual(network.outputShape, Shape(2))
    let x = Tensor(shape: Shape(1, 2), storage: [1, -2])
    // h = x·W + b = [1·1 − 2·3 + 0.5, 1·2 − 2·(−1)] = [−4.5, 4]; r = [0, 4]; y = x + r.
    let y = try network.forward(x, mode: .training)
    XCTAssertEqual(y.storage, [1, 2])
    // dY = [1, 1]: dR = dY, dH = dR·[h > 0] = [0, 1], dW = xᵀ·dH, db = dH,
    // dX = dY (the skip) + dH·Wᵀ = [1 + 2, 1 − 1].
    network.zeroGradients()
    let dX = try XCTUnwrap(
      network.backward(Tensor(shape: Shape(1, 2), storage: [1, 1]), inputGradient: true))
    XCTAssertEqual(dX.storage, [3, 0])
    var gradients: [[Float]] = []
    network.forEachParameter { gradients.append($0.grad.storage) }
    XCTAssertEqual(gradients, [[0, 1, 0, -2], [0, 1]])
  }

  func testResidualBlockGradientCheck() throws {
    var generator = SeededGenerator(seed: 3)
    try GradientCheck.check(
      try residualBlock(), input: GradientCheck.randomTensor(Shape(3, 2), &generator))
  }

  /// Two convolutions of one input joined on channels: the input's
  /// gradient is the sum over both readers.
  func testConcatenatedBranchesGradientCheck() throws {
    var generator = SeededGenerator(seed: 4)
    let wide = Conv2D(
      inputChannels: 2, filters: 3, kernelSize: (3, 3), padding: .same, generator: &generator)
    let narrow = Conv2D(inputChannels: 2, filters: 1, kernelSize: (1, 1), generator: &generator)
    let network = Network(
      try Graph(
        input: "x", shape: Shape(2, 5, 4),
        nodes: [
          Graph.Node("wide", wide, inputs: ["x"]),
          Graph.Node("narrow", narrow, inputs: ["x"]),
          Graph.Node("join", Concatenate(), inputs: ["wide", "narrow"]),
        ],
        output: "join"))
    XCTAssertEqual(network.outputShape, Shape(4, 5, 4))
    try GradientCheck.check(
      network, input: GradientCheck.randomTensor(Shape(2, 2, 5, 4), &generator))
  }

  func testNodesAreSortedAndBadGraphsRefused() throws {
    let unsorted = try Graph(
      input: "x", shape: Shape(3),
      nodes: [
        Graph.Node("b", Activation(.tanh), inputs: ["a"]),
        Graph.Node("a", Activation(.relu), inputs: ["x"]),
      ],
      output: "b")
    XCTAssertEqual(unsorted.nodes.map(\.name), ["a", "b"])
    XCTAssertEqual(unsorted.tensorShapes, [Shape(3), Shape(3), Shape(3)])

    func refused(_ nodes: [Graph.Node], output: String = "b") -> EngineError? {
      do {
        _ = try Graph(input: "x", shape: Shape(3), nodes: nodes, output: output)
        return nil
      } catch {
        return error
      }
    }
    XCTAssertEqual(
      refused([
        Graph.Node("a", Add(), inputs: ["x", "b"]),
        Graph.Node("b", Activation(.relu), inputs: ["a"]),
      ]),
      .cycle(nodes: ["a", "b"]))
    XCTAssertEqual(
      refused([Graph.Node("b", Activation(.relu), inputs: ["missing"])]),
      .undefinedTensor(node: "b", tensor: "missing"))
    XCTAssertEqual(
      refused([
        Graph.Node("a", Activation(.relu), inputs: ["x"], output: "b"),
        Graph.Node("b", Activation(.relu), inputs: ["x"]),
      ]),
      .duplicateTensor("b"))
    XCTAssertEqual(
      refused([Graph.Node("b", Activation(.relu), inputs: ["x"])], output: "c"), .noSuchTensor("c"))
    XCTAssertEqual(
      refused([Graph.Node("b", Add(), inputs: ["x"])]),
      .node("b", .inputCount(operation: "Add", expected: 2, found: 1)))
    var generator = SeededGenerator(seed: 1)
    let dense = Dense(inputFeatures: 4, units: 2, generator: &generator)
    let error = refused([Graph.Node("b", dense, inputs: ["x"])])
    XCTAssertEqual(
      error?.description,
      "node b: Dense expects (4) features (add Flatten first), got (3)")
  }
}
