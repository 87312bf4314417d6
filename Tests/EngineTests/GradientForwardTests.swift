import Tensors
import XCTest

@testable import Engine

/// `forwardForGradients` / `backwardForGradients`: inference outputs with
/// dropout off, the kept tensor's own value even where inference fuses it
/// away, and gradients at it and at the input that match central
/// differences of the inference forward.
final class GradientForwardTests: XCTestCase {
  /// Conv+ReLU+max pooling (fused in inference), a second convolution,
  /// dropout, dense layers and a softmax.
  private static func network(seed: UInt64) -> Network {
    var g = SeededGenerator(seed: seed)
    return Network(
      inputShape: Shape(2, 8, 8),
      layers: [
        Conv2D(inputChannels: 2, filters: 4, kernelSize: (3, 3), padding: .same, generator: &g),
        Activation(.relu),
        Pooling2D(.max),
        Conv2D(inputChannels: 4, filters: 3, kernelSize: (3, 3), generator: &g),
        Activation(.relu),
        Dropout(rate: 0.5, generator: g.split()),
        Flatten(),
        Dense(inputFeatures: 12, units: 5, generator: &g),
        Activation(.tanh),
        Dense(inputFeatures: 5, units: 3, generator: &g),
        Activation(.softmax),
      ])
  }

  /// Σ output · projection of the inference forward, in Double.
  private static func objective(
    _ network: inout Network, _ input: Tensor, _ projection: Tensor, logits: Bool
  ) throws -> Double {
    let output =
      logits
      ? try network.activation(of: "9", for: input) : try network.forward(input, mode: .inference)
    return zip(output.storage, projection.storage).reduce(0) { $0 + Double($1.0) * Double($1.1) }
  }

  private static func numericGradient(
    _ network: Network, at input: Tensor, projection: Tensor, logits: Bool, index: Int,
    epsilon: Float = 1e-2
  ) throws -> Double {
    var probe = network
    var plus = input
    var minus = input
    plus.storage[index] += epsilon
    minus.storage[index] -= epsilon
    return
      (try objective(&probe, plus, projection, logits: logits)
      - objective(&probe, minus, projection, logits: logits)) / (2 * Double(epsilon))
  }

  func testOutputIsTheInferenceOutputWithDropoutOff() throws {
    var network = Self.network(seed: 1)
    var g = SeededGenerator(seed: 2)
    let input = GradientCheck.randomTensor(Shape(3, 2, 8, 8), &g)
    let states = network.generatorStates
    let expected = try network.forward(input, mode: .inference)
    for _ in 0..<2 {
      let run = try network.forwardForGradients(input, keeping: "1")
      XCTAssertEqual(run.output, expected)
      _ = try network.backwardForGradients(
        GradientCheck.randomTensor(run.output.shape, &g), inputGradient: true)
    }
    // No dropout mask was drawn.
    XCTAssertEqual(network.generatorStates.map { $0 ?? [] }, states.map { $0 ?? [] })
    let logits = try network.forwardForGradients(input, logits: true)
    XCTAssertEqual(logits.output, try network.activation(of: "9", for: input))
    XCTAssertNil(logits.activation)
  }

  /// Inference folds the ReLU and the pooling into the first convolution;
  /// keeping the convolution's or the ReLU's output makes it a step's own.
  func testKeptTensorIsTheNodesOwnActivationThoughInferenceFusesIt() throws {
    var network = Self.network(seed: 3)
    XCTAssertEqual(network.inferencePlan.steps[0].names, ["0", "1", "2"])
    var g = SeededGenerator(seed: 4)
    let input = GradientCheck.randomTensor(Shape(3, 2, 8, 8), &g)
    for (name, firstStep) in [("0", ["0"]), ("1", ["0", "1"]), ("2", ["0", "1", "2"])] {
      let plan = try ExecutionPlan(graph: network.graph, keeping: [name])
      XCTAssertEqual(plan.steps[0].names, firstStep, "keeping \(name)")
      let run = try network.forwardForGradients(input, keeping: name)
      XCTAssertEqual(run.activation, try network.activation(of: name, for: input), name)
    }
  }

  /// dInput and dActivation against central differences: the input's of
  /// the whole inference forward, the activation's of the layers after it
  /// run as a network of their own.
  func testGradientsMatchCentralDifferences() throws {
    let network = Self.network(seed: 5)
    var g = SeededGenerator(seed: 6)
    let input = GradientCheck.randomTensor(Shape(2, 2, 8, 8), &g)
    for (kept, logits) in [("1", false), ("3", true), ("0", true)] {
      var net = network
      let run = try net.forwardForGradients(input, keeping: kept, logits: logits)
      let projection = GradientCheck.randomTensor(run.output.shape, &g)
      let result = try net.backwardForGradients(projection, inputGradient: true)
      let dInput = try XCTUnwrap(result.dInput)
      let dActivation = try XCTUnwrap(result.dActivation)
      let activation = try XCTUnwrap(run.activation)
      XCTAssertEqual(dActivation.shape, activation.shape)
      for i in stride(from: 0, to: input.count, by: 7) {
        let numeric = try Self.numericGradient(
          network, at: input, projection: projection, logits: logits, index: i)
        XCTAssertLessThan(
          GradientCheck.relativeError(Double(dInput.storage[i]), numeric), 1e-2,
          "keeping \(kept): dInput[\(i)] \(dInput.storage[i]) vs \(numeric)")
      }
      let k = Int(kept)! + 1
      let last = logits ? 10 : 11
      let tail = Network(
        inputShape: activation.sampleShape,
        layers: network.layers[k..<last].map { $0 as! any Layer })
      var probe = tail
      for i in stride(from: 0, to: activation.count, by: 3) {
        var plus = activation
        var minus = activation
        plus.storage[i] += 1e-2
        minus.storage[i] -= 1e-2
        let up = try probe.forward(plus, mode: .inference)
        let down = try probe.forward(minus, mode: .inference)
        var numeric = 0.0
        for j in 0..<up.count {
          numeric +=
            (Double(up.storage[j]) - Double(down.storage[j])) * Double(projection.storage[j])
        }
        numeric /= 2e-2
        XCTAssertLessThan(
          GradientCheck.relativeError(Double(dActivation.storage[i]), numeric), 1e-2,
          "keeping \(kept): dActivation[\(i)] \(dActivation.storage[i]) vs \(numeric)")
      }
    }
  }

  /// Without the input gradient, backward stops at the kept tensor with the
  /// same gradient there, and adds nothing to the parameters below it.
  func testPartialBackwardStopsAtTheKeptTensor() throws {
    var network = Self.network(seed: 7)
    var g = SeededGenerator(seed: 8)
    let input = GradientCheck.randomTensor(Shape(2, 2, 8, 8), &g)
    let run = try network.forwardForGradients(input, keeping: "4")
    let projection = GradientCheck.randomTensor(run.output.shape, &g)
    let full = try network.backwardForGradients(projection, inputGradient: true)
    network.zeroGradients()
    _ = try network.forwardForGradients(input, keeping: "4")
    let partial = try network.backwardForGradients(projection, inputGradient: false)
    XCTAssertNil(partial.dInput)
    XCTAssertEqual(partial.dActivation, full.dActivation)
    var firstKernelGradient: Tensor?
    network.forEachParameter { if firstKernelGradient == nil { firstKernelGradient = $0.grad } }
    XCTAssert(try XCTUnwrap(firstKernelGradient).storage.allSatisfy { $0 == 0 })
  }

  /// Keeping the graph input gives the input gradient as the activation's,
  /// with or without the input gradient asked for.
  func testKeepingTheInputGivesTheInputGradient() throws {
    var network = Self.network(seed: 11)
    var g = SeededGenerator(seed: 12)
    let input = GradientCheck.randomTensor(Shape(2, 2, 8, 8), &g)
    let run = try network.forwardForGradients(input, keeping: "input", logits: true)
    XCTAssertEqual(run.activation, input)
    let projection = GradientCheck.randomTensor(run.output.shape, &g)
    let both = try network.backwardForGradients(projection, inputGradient: true)
    _ = try network.forwardForGradients(input, keeping: "input", logits: true)
    let kept = try network.backwardForGradients(projection, inputGradient: false)
    XCTAssertNotNil(both.dInput)
    XCTAssertEqual(both.dActivation, both.dInput)
    XCTAssertEqual(kept.dActivation, both.dInput)
    XCTAssertNil(kept.dInput)
  }

  /// A kept tensor with two readers gets the sum of both paths' gradients,
  /// and one the output does not depend on gets zeros.
  func testKeptTensorGradientSumsItsReadersAndIsZeroOffThePath() throws {
    var g = SeededGenerator(seed: 9)
    var network = Network(
      try Graph(
        input: "x", shape: Shape(1, 4, 4),
        nodes: [
          Graph.Node(
            "conv",
            Conv2D(inputChannels: 1, filters: 2, kernelSize: (3, 3), padding: .same, generator: &g),
            inputs: ["x"]),
          Graph.Node("relu", Activation(.relu), inputs: ["conv"]),
          Graph.Node("add", Add(), inputs: ["conv", "relu"]),
          Graph.Node("side", Activation(.tanh), inputs: ["conv"]),
        ],
        output: "add"))
    let input = GradientCheck.randomTensor(Shape(2, 1, 4, 4), &g)
    let run = try network.forwardForGradients(input, keeping: "conv")
    let conv = try XCTUnwrap(run.activation)
    let projection = GradientCheck.randomTensor(run.output.shape, &g)
    let d = try XCTUnwrap(
      network.backwardForGradients(projection, inputGradient: false).dActivation)
    for i in 0..<conv.count {
      let expected = projection.storage[i] * (conv.storage[i] > 0 ? 2 : 1)
      XCTAssertEqual(d.storage[i], expected, accuracy: 1e-6)
    }
    _ = try network.forwardForGradients(input, keeping: "side")
    let side = try network.backwardForGradients(projection, inputGradient: true)
    XCTAssertEqual(side.dActivation, Tensor(zeros: Shape(2, 2, 4, 4)))
    XCTAssertNotNil(side.dInput)
  }
}
