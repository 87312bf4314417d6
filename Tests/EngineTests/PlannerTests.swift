import Tensors
import XCTest

@testable import Engine

/// Which nodes the planner runs as one step, which buffers it shares, and
/// that running up to any node equals the layers run one by one.
final class PlannerTests: XCTestCase {
  private func conv(_ cin: Int, _ cout: Int, _ g: inout SeededGenerator) -> Conv2D {
    Conv2D(inputChannels: cin, filters: cout, kernelSize: (3, 3), padding: .same, generator: &g)
  }

  func testConvReLUMaxPoolFoldIntoOneStep() {
    var g = SeededGenerator(seed: 1)
    let network = Network(
      inputShape: Shape(8, 6, 6),
      layers: [conv(8, 8, &g), Activation(.relu), Pooling2D(.max), Flatten()])
    XCTAssertEqual(network.inferencePlan.steps.map(\.names), [["0", "1", "2"], ["3"]])
    XCTAssertEqual(
      network.inferencePlan.steps[0].stages,
      [.relu, .maxPooling(PoolWindow(size: (2, 2)))])
    // A chain needs two buffers, used in turn.
    XCTAssertEqual(network.inferencePlan.slotCount, 2)
  }

  func testFusionStopsWhereItWouldChangeTheResult() {
    var g = SeededGenerator(seed: 2)
    // Average pooling and sigmoid are not folded; neither is a ReLU after
    // a pool (max pooling is folded only after the ReLU).
    for (layers, steps) in [
      ([conv(2, 2, &g), Pooling2D(.average)] as [any Layer], [["0"], ["1"]]),
      ([conv(2, 2, &g), Activation(.sigmoid), Pooling2D(.max)], [["0"], ["1"], ["2"]]),
      ([conv(2, 2, &g), Pooling2D(.max), Activation(.relu)], [["0", "1"], ["2"]]),
      ([Pooling2D(.max), Activation(.relu)], [["0"], ["1"]]),
    ] {
      let network = Network(inputShape: Shape(2, 6, 6), layers: layers)
      XCTAssertEqual(network.inferencePlan.steps.map(\.names), steps)
    }
  }

  /// A convolution whose output feeds two readers (a ReLU and an Add) must
  /// stay materialized: nothing is folded into it.
  func testTensorWithTwoReadersIsNotFolded() throws {
    var g = SeededGenerator(seed: 3)
    var network = Network(
      try Graph(
        input: "x", shape: Shape(1, 4, 4),
        nodes: [
          Graph.Node("conv", conv(1, 1, &g), inputs: ["x"]),
          Graph.Node("relu", Activation(.relu), inputs: ["conv"]),
          Graph.Node("add", Add(), inputs: ["conv", "relu"]),
        ],
        output: "add"))
    let plan = network.inferencePlan
    XCTAssertEqual(plan.steps.map(\.names), [["conv"], ["relu"], ["add"]])
    // x dies after conv, so relu reuses its slot; conv's output lives on
    // until add, which needs a third.
    XCTAssertEqual(plan.steps.map(\.outputSlot), [1, 0, 2])
    XCTAssertEqual(plan.steps.map(\.releasedSlots), [[0], [], [0, 1]])
    XCTAssertEqual(plan.slotCount, 3)

    let x = GradientCheck.randomTensor(Shape(2, 1, 4, 4), &g)
    var layers = LayerByLayer(network)
    let c = try layers.operations[0].forward([x], mode: .inference)
    let r = try layers.operations[1].forward([c], mode: .inference)
    XCTAssertEqual(
      try network.forward(x, mode: .inference).storage, zip(c.storage, r.storage).map(+))
  }

  func testAPlanStopsAtTheRequestedTensorAndFoldsNothingPastIt() throws {
    var g = SeededGenerator(seed: 4)
    let network = Network(
      inputShape: Shape(8, 6, 6), layers: [conv(8, 8, &g), Activation(.relu), Pooling2D(.max)])
    let atReLU = try ExecutionPlan(graph: network.graph, output: "1")
    XCTAssertEqual(atReLU.steps.map(\.names), [["0", "1"]])
    XCTAssertEqual(atReLU.outputShape, Shape(8, 6, 6))
    let atConv = try ExecutionPlan(graph: network.graph, output: "0")
    XCTAssertEqual(atConv.steps.map(\.names), [["0"]])
    XCTAssertThrowsError(try ExecutionPlan(graph: network.graph, output: "9")) {
      XCTAssertEqual($0 as? EngineError, .noSuchTensor("9"))
    }
  }

  /// `activation(of:for:)` for every node of a convolutional front, at the
  /// model's size and at a larger one, equals the layers run one by one.
  func testActivationsUpToEachNodeMatchTheLayersOneByOne() throws {
    var g = SeededGenerator(seed: 5)
    let layers: [any Layer] = [
      conv(8, 16, &g), Activation(.relu), Pooling2D(.max),
      Conv2D(inputChannels: 16, filters: 8, kernelSize: (3, 3), generator: &g),
      Activation(.relu), Pooling2D(.max, poolSize: (3, 3), strides: (2, 2)), Activation(.tanh),
      Flatten(),
    ]
    var network = Network(inputShape: Shape(8, 12, 12), layers: layers)
    for (height, width) in [(12, 12), (19, 23)] {
      let input = GradientCheck.randomTensor(Shape(3, 8, height, width), &g)
      for k in 0..<(layers.count - 1) {
        var reference = LayerByLayer(network)
        let expected = try reference.forward(input, mode: .inference, count: k + 1)
        let maps = try network.activation(of: "\(k)", for: input)
        XCTAssertEqual(maps.shape, expected.shape, "node \(k) at \(height)x\(width)")
        XCTAssertEqual(maps.storage, expected.storage, "node \(k) at \(height)x\(width)")
      }
    }
    // Too small an input is refused, naming the node whose window no longer fits.
    XCTAssertThrowsError(try network.activation(of: "3", for: Tensor(zeros: Shape(1, 8, 4, 5)))) {
      XCTAssertEqual(
        $0 as? EngineError,
        .node(
          "3",
          .windowLargerThanInput(windowHeight: 3, windowWidth: 3, inputHeight: 2, inputWidth: 2)))
    }
  }

  /// Batch 1 is too small for the fused pooling kernel: the step pools on
  /// its own, with the same results and gradients.
  func testAFoldThatCannotRunFallsBackWithinTheStep() throws {
    var g = SeededGenerator(seed: 6)
    var network = Network(
      inputShape: Shape(8, 6, 6), layers: [conv(8, 8, &g), Activation(.relu), Pooling2D(.max)])
    let input = GradientCheck.randomTensor(Shape(1, 8, 6, 6), &g)
    let y = try network.forward(input, mode: .training)
    XCTAssertEqual(network.pendingBackwardRun?.folded, [1])
    var reference = LayerByLayer(network)
    XCTAssertEqual(y, try reference.forward(input, mode: .training))
    let dOutput = GradientCheck.randomTensor(y.shape, &g)
    let dInput = try XCTUnwrap(network.backward(dOutput, inputGradient: true))
    XCTAssertLessThan(dInput.maxAbsoluteDifference(to: try reference.backward(dOutput)), 1e-6)
  }
}
