import Engine
import Foundation
import Tensors
import XCTest

@testable import Explain

/// Guided backpropagation and guided Grad-CAM: a hand-computed case, the
/// engine's guided backward against the plain node-by-node reference, the
/// zeroing of negative gradients at every ReLU, the product that guided
/// Grad-CAM is, the refusal of ops without a guided rule, and the
/// model-randomization check that guided backpropagation is known to fail.
final class GuidedBackpropTests: XCTestCase {
  /// A 1×1 convolution (two channels in, two filters) → ReLU → flatten →
  /// dense (2 classes): the ReLU is folded into the convolution.
  ///
  /// Channels x = (1, 2); filter 0 weighs them (1, 2), filter 1 (−1, 1):
  /// pre-activations (5, 1), both positive. Class 0's dense column is
  /// (1, −2), so the gradient reaching the ReLU is (1, −2). The gradient
  /// at x is 1·(1, 2) − 2·(−1, 1) = (3, 0); guided backpropagation drops
  /// the −2 and gives 1·(1, 2) = (1, 2).
  static func handModel() -> Network {
    // HWIO kernel (1, 1, 2 in, 2 filters): kernel[0, 0, i, o].
    let kernel = Tensor(shape: Shape(1, 1, 2, 2), storage: [1, -1, 2, 1])
    let dense = Tensor(shape: Shape(2, 2), storage: [1, 0.5, -2, 3])
    return Network(
      inputShape: Shape(2, 1, 1),
      layers: [
        Conv2D(kernel: kernel, bias: Tensor(zeros: Shape(2))),
        Activation(.relu),
        Flatten(),
        Dense(kernel: dense, bias: Tensor(zeros: Shape(2))),
        Activation(.softmax),
      ])
  }

  func testNegativeGradientsAreDroppedAsComputedByHand() throws {
    let network = Self.handModel()
    let plan = try ExecutionPlan(graph: network.graph, softmaxToLoss: true)
    XCTAssertEqual(plan.steps[0].stages, [.relu], "the ReLU is folded into the convolution")
    var explainer = Explainer(network: network)
    let input = Tensor(shape: Shape(1, 2, 1, 1), storage: [1, 2])
    XCTAssertEqual(try explainer.inputGradients(input, classIndex: 0).storage, [3, 0])
    XCTAssertEqual(try explainer.guidedGradients(input, classIndex: 0).storage, [1, 2])
    XCTAssertEqual(try explainer.guidedGradientsReference(input, classIndex: 0).storage, [1, 2])
    // Class 1's column (0.5, 3) is positive: guided equals the gradient,
    // 0.5·(1, 2) + 3·(−1, 1) = (−2.5, 4), negative input gradients kept.
    XCTAssertEqual(try explainer.guidedGradients(input, classIndex: 1).storage, [-2.5, 4])
    let map = try explainer.explain(input, classIndex: 0, method: .guidedBackprop).map
    XCTAssertEqual(map.shape, Shape(1, 1))
    XCTAssertEqual(map.storage, [2], "the largest |value| over channels")
    // The switch is off again afterwards: ordinary gradients come back.
    XCTAssertEqual(try explainer.inputGradients(input, classIndex: 0).storage, [3, 0])
  }

  static func random(_ shape: Shape, _ g: inout SeededGenerator, scale: Float = 1) -> Tensor {
    ExplainerTests.random(shape, &g, scale: scale)
  }

  /// Two branches after a conv + ReLU + overlapping max pooling, one ending
  /// in leaky ReLU, the other in ReLU6, added, then dense layers: every
  /// rectifier, a fold, and a tensor read twice.
  static func branched(seed: UInt64) throws -> Network {
    var g = SeededGenerator(seed: seed)
    func conv(_ cin: Int, _ filters: Int, _ k: Int) -> Conv2D {
      Conv2D(
        kernel: random(Shape(k, k, cin, filters), &g, scale: 0.6),
        bias: random(Shape(filters), &g, scale: 0.2), padding: .same)
    }
    let nodes: [Graph.Node] = [
      Graph.Node("a", conv(2, 4, 3), inputs: ["x"]),
      Graph.Node("a_relu", Activation(.relu), inputs: ["a"]),
      Graph.Node(
        "pool", Pooling2D(.max, poolSize: (3, 3), strides: (2, 2), padding: .same),
        inputs: ["a_relu"]),
      Graph.Node("b", conv(4, 4, 3), inputs: ["pool"]),
      Graph.Node("b_leaky", ParametricActivation(.leakyRelu(alpha: 0.1)), inputs: ["b"]),
      Graph.Node("c", conv(4, 4, 1), inputs: ["pool"]),
      Graph.Node("c_relu6", ParametricActivation(.clip(low: 0, high: 6)), inputs: ["c"]),
      Graph.Node("sum", Add(), inputs: ["b_leaky", "c_relu6"]),
      Graph.Node("sum_relu", Activation(.relu), inputs: ["sum"]),
      Graph.Node("flat", Flatten(), inputs: ["sum_relu"]),
      Graph.Node("d1", Dense(inputFeatures: 64, units: 12, generator: &g), inputs: ["flat"]),
      Graph.Node("d1_relu", Activation(.relu), inputs: ["d1"]),
      Graph.Node("d2", Dense(inputFeatures: 12, units: 5, generator: &g), inputs: ["d1_relu"]),
      Graph.Node("probabilities", Activation(.softmax), inputs: ["d2"]),
    ]
    return Network(
      try Graph(input: "x", shape: Shape(2, 8, 8), nodes: nodes, output: "probabilities"))
  }

  func testTheEngineMatchesTheNodeByNodeReference() throws {
    var g = SeededGenerator(seed: 3)
    for seed: UInt64 in [4, 5, 6] {
      var explainer = Explainer(network: try Self.branched(seed: seed))
      let input = Self.random(Shape(3, 2, 8, 8), &g)
      for k in 0..<5 {
        let fast = try explainer.guidedGradients(input, classIndex: k)
        let reference = try explainer.guidedGradientsReference(input, classIndex: k)
        let plain = try explainer.inputGradients(input, classIndex: k)
        XCTAssertEqual(fast.shape, input.shape)
        let scale = reference.storage.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 0)
        for i in 0..<fast.count {
          XCTAssertEqual(fast.storage[i], reference.storage[i], accuracy: 1e-5 * scale)
        }
        let differs = zip(fast.storage, plain.storage).contains { abs($0 - $1) > 1e-3 * scale }
        XCTAssertTrue(differs, "guided differs from the gradient (seed \(seed), class \(k))")
      }
    }
    // The reference's rectifier test knows every rectifier kind.
    XCTAssertTrue(Explainer.isRectifier(ParametricActivation(.leakyRelu(alpha: 0.2))))
    XCTAssertFalse(Explainer.isRectifier(ParametricActivation(.hardSwish)))
    XCTAssertFalse(Explainer.isRectifier(Activation(.sigmoid)))
  }

  /// At the input of every ReLU (kept, so the guided ReLU runs on its own
  /// there or in the convolution before it), the guided gradient is never
  /// negative and is zero wherever the input is not positive.
  func testNegativeGradientsAreZeroedAtEveryReLU() throws {
    var g = SeededGenerator(seed: 8)
    var network = try Self.branched(seed: 9)
    let input = Self.random(Shape(2, 2, 8, 8), &g)
    var checked = 0
    for (relu, before) in [("a_relu", "a"), ("sum_relu", "sum"), ("d1_relu", "d1")] {
      for k in 0..<5 {
        network.setGuidedBackward(true)
        let run = try network.forwardForGradients(input, keeping: before, logits: true)
        let back = try network.backwardForGradients(
          Explainer.oneHot(k, batch: 2, classes: 5), inputGradient: false)
        network.setGuidedBackward(false)
        let plainRun = try network.forwardForGradients(input, keeping: before, logits: true)
        let plain = try network.backwardForGradients(
          Explainer.oneHot(k, batch: 2, classes: 5), inputGradient: false)
        let x = try XCTUnwrap(run.activation).storage
        let d = try XCTUnwrap(back.dActivation).storage
        let ordinary = try XCTUnwrap(plain.dActivation).storage
        XCTAssertEqual(try XCTUnwrap(plainRun.activation).storage, x)
        for i in d.indices {
          XCTAssertGreaterThanOrEqual(d[i], 0, "\(relu) \(i)")
          if !(x[i] > 0) { XCTAssertEqual(d[i], 0, "\(relu) \(i)") }
          // Where the ReLU passes and the gradient above is positive, guided
          // is the gradient itself only if nothing above it was clipped:
          // at the last ReLU (only dense above it) exactly so.
          if relu == "d1_relu" {
            XCTAssertEqual(d[i], x[i] > 0 ? max(ordinary[i], 0) : 0, accuracy: 1e-6)
          }
        }
        checked += d.count
      }
    }
    XCTAssertGreaterThan(checked, 0)
  }

  func testGuidedGradCAMIsTheProductOfItsTwoMaps() throws {
    var g = SeededGenerator(seed: 10)
    var explainer = Explainer(network: ExplainerTests.deeper(seed: 11))
    let input = Self.random(Shape(1, 1, 12, 12), &g)
    for layer in ["1", "4"] {
      for k in 0..<4 {
        let product = try explainer.explain(
          input, classIndex: k, method: .guidedGradCAM(layer: layer))
        let guided = try explainer.explain(input, classIndex: k, method: .guidedBackprop).map
        let cam = try explainer.explain(input, classIndex: k, method: .gradCAM(layer: layer))
        XCTAssertEqual(product.layerMap?.storage, cam.layerMap?.storage)
        XCTAssertEqual(product.map.shape, Shape(12, 12))
        for i in 0..<product.map.count {
          XCTAssertEqual(
            product.map.storage[i], guided.storage[i] * cam.map.storage[i], accuracy: 1e-6)
        }
        XCTAssertEqual(product.probability, cam.probability)
      }
    }
  }

  func testOpsWithoutAGuidedRuleAreRefused() throws {
    var g = SeededGenerator(seed: 1)
    for (function, kind) in [(Activation.Function.sigmoid, "sigmoid"), (.tanh, "tanh")] {
      var explainer = Explainer(
        network: Network(
          inputShape: Shape(1, 4, 4),
          layers: [
            Conv2D(inputChannels: 1, filters: 2, kernelSize: (3, 3), generator: &g),
            Activation(function),
            Flatten(),
            Dense(inputFeatures: 8, units: 3, generator: &g),
            Activation(.softmax),
          ]))
      let input = Self.random(Shape(1, 1, 4, 4), &g)
      let expected = ExplainError.noGuidedRule(method: "guided-backprop", node: "1", kind: kind)
      XCTAssertThrowsError(try explainer.checkGuidedRule(method: "guided-backprop")) {
        XCTAssertEqual($0 as? ExplainError, expected)
      }
      XCTAssertThrowsError(try explainer.explain(input, classIndex: 0, method: .guidedBackprop)) {
        XCTAssertEqual($0 as? ExplainError, expected)
      }
      XCTAssertThrowsError(
        try explainer.explain(input, classIndex: 0, method: .guidedGradCAM(layer: "1"))
      ) {
        XCTAssertEqual(
          $0 as? ExplainError,
          .noGuidedRule(method: "guided-gradcam", node: "1", kind: kind))
      }
      XCTAssertTrue(expected.description.contains("--method guided-backprop"))
      XCTAssertTrue(expected.description.contains("node 1 (\(kind))"))
      // The other methods still run.
      XCTAssertNoThrow(try explainer.explain(input, classIndex: 0, method: .saliency))
    }
    // A hard swish is refused; ReLU6, leaky ReLU and a final softmax are not.
    let hardSwish = Explainer(
      network: Network(
        inputShape: Shape(3), layers: [ParametricActivation(.hardSwish), Activation(.softmax)]))
    XCTAssertThrowsError(try hardSwish.checkGuidedRule(method: "guided-backprop"))
    XCTAssertNoThrow(
      try Explainer(network: try Self.branched(seed: 2)).checkGuidedRule(method: "x"))
  }

  /// Adebayo et al. (2018): guided backpropagation is known to fail the
  /// model-randomization check: its maps barely change when the top
  /// layer's weights are redrawn (it reconstructs the input more than it
  /// explains the class). Measured here as docs/explain.md records; the
  /// plain gradient on the same model passes (ExplainerTests).
  func testGuidedBackpropFailsTheRandomizationCheck() throws {
    var g = SeededGenerator(seed: 12)
    let network = ExplainerTests.deeper(seed: 13)
    var randomized = network
    var draw = SeededGenerator(seed: 14)
    var visited = 0
    var parameterCount = 0
    randomized.forEachParameter { _ in parameterCount += 1 }
    randomized.forEachParameter { parameter in
      if visited >= parameterCount - 2 {
        parameter.value = Self.random(parameter.value.shape, &draw, scale: 0.5)
      }
      visited += 1
    }
    var before = Explainer(network: network)
    var after = Explainer(network: randomized)
    var correlations: [String: [Double]] = [:]
    for trial in 0..<8 {
      let input = Self.random(Shape(1, 1, 12, 12), &g)
      let top = try before.rankedClasses(input)[0].0
      for (name, method) in [
        ("guided-backprop", AttributionMethod.guidedBackprop),
        ("guided-gradcam", .guidedGradCAM(layer: "4")), ("saliency", .saliency),
      ] {
        let a = try before.explain(input, classIndex: top, method: method).map.storage
        let b = try after.explain(input, classIndex: top, method: method).map.storage
        correlations[name, default: []].append(ExplainerTests.rankCorrelation(a, b))
      }
      _ = trial
    }
    func mean(_ name: String) -> Double {
      let values = correlations[name] ?? []
      return values.reduce(0, +) / Double(values.count)
    }
    print(
      "randomization rank correlation (mean of 8 inputs): guided-backprop "
        + String(format: "%.2f", mean("guided-backprop")) + ", guided-gradcam "
        + String(format: "%.2f", mean("guided-gradcam")) + ", saliency "
        + String(format: "%.2f", mean("saliency")))
    XCTAssertGreaterThan(mean("guided-backprop"), 0.5, "guided backpropagation fails the check")
    XCTAssertLessThan(mean("saliency"), 0.5, "the plain gradient passes it")
    XCTAssertLessThan(mean("guided-gradcam"), 0.5, "Grad-CAM's factor carries the class")
  }
}
