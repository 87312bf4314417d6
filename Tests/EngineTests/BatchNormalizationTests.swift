import Engine
import Tensors
import XCTest

final class BatchNormalizationTests: XCTestCase {
  private func randomNorm(_ channels: Int, _ generator: inout SeededGenerator) -> BatchNormalization
  {
    var variance = GradientCheck.randomTensor(Shape(channels), &generator)
    for i in 0..<channels { variance.storage[i] = abs(variance.storage[i]) + 0.1 }
    return BatchNormalization(
      gamma: GradientCheck.randomTensor(Shape(channels), &generator),
      beta: GradientCheck.randomTensor(Shape(channels), &generator),
      mean: GradientCheck.randomTensor(Shape(channels), &generator), variance: variance,
      epsilon: 1e-3)
  }

  func testHandWorked() throws {
    // (x − 1) / sqrt(3 + 1) · 2 + 0.5 = x − 0.5.
    var norm = BatchNormalization(
      gamma: Tensor(shape: Shape(1), storage: [2]), beta: Tensor(shape: Shape(1), storage: [0.5]),
      mean: Tensor(shape: Shape(1), storage: [1]), variance: Tensor(shape: Shape(1), storage: [3]),
      epsilon: 1)
    let input = Tensor(shape: Shape(1, 1, 1, 3), storage: [1, 2, 5])
    XCTAssertEqual(try norm.forward(input, mode: .inference).storage, [0.5, 1.5, 4.5])
    XCTAssertThrowsError(try norm.outputShape(for: Shape(2, 3, 3)))
  }

  func testMatchesReferenceForImagesAndFeatures() throws {
    var generator = SeededGenerator(seed: 31)
    for shape in [Shape(3, 5, 4, 6), Shape(4, 7)] {
      var norm = randomNorm(shape[1], &generator)
      let input = GradientCheck.randomTensor(shape, &generator)
      XCTAssertEqual(try norm.outputShape(for: input.sampleShape), input.sampleShape)
      let expected = batchNormalizationReference(
        input: input, gamma: norm.gamma.value, beta: norm.beta.value, mean: norm.movingMean.value,
        variance: norm.movingVariance.value, epsilon: norm.epsilon)
      XCTAssertLessThan(
        try norm.forward(input, mode: .inference).maxAbsoluteDifference(to: expected), 1e-5)
    }
  }

  /// The input gradient only: the statistics are not trained.
  func testInputGradientCheck() throws {
    var generator = SeededGenerator(seed: 32)
    let norm = randomNorm(3, &generator)
    var network = Network(inputShape: Shape(3, 4, 5), layers: [norm])
    let input = GradientCheck.randomTensor(Shape(2, 3, 4, 5), &generator)
    let output = try network.forward(input, mode: .training)
    let dOutput = GradientCheck.randomTensor(output.shape, &generator)
    let dInput = try XCTUnwrap(network.backward(dOutput, inputGradient: true))
    let scale = norm.affine.scale
    for i in stride(from: 0, to: input.count, by: 7) {
      let c = (i / 20) % 3
      var plus = input, minus = input
      plus.storage[i] += 1e-2
      minus.storage[i] -= 1e-2
      var probe = Network(inputShape: Shape(3, 4, 5), layers: [norm])
      let delta =
        try probe.forward(plus, mode: .inference).storage[i]
        - probe.forward(minus, mode: .inference).storage[i]
      XCTAssertEqual(dInput.storage[i], dOutput.storage[i] * scale[c], accuracy: 1e-6)
      XCTAssertEqual(delta / 2e-2, scale[c], accuracy: 1e-2)
    }
  }

  /// Folding into the convolution before it changes nothing but rounding,
  /// for plain, grouped (depthwise) and dilated convolutions.
  func testFoldedIntoConvMatchesUnfolded() throws {
    var generator = SeededGenerator(seed: 33)
    for (cin, cout, groups, dilation) in [(3, 4, 1, 1), (4, 4, 4, 1), (4, 6, 2, 2)] {
      let conv = Conv2D(
        kernel: GradientCheck.randomTensor(Shape(3, 3, cin / groups, cout), &generator),
        bias: GradientCheck.randomTensor(Shape(cout), &generator), padding: .symmetric(1),
        groups: groups, dilations: (dilation, dilation))
      let norm = randomNorm(cout, &generator)
      let input = GradientCheck.randomTensor(Shape(2, cin, 7, 6), &generator)
      var separate = Network(inputShape: Shape(cin, 7, 6), layers: [conv, norm])
      var folded = try XCTUnwrap(conv.folding(norm))
      let expected = try separate.forward(input, mode: .inference)
      let output = try folded.forward(input, mode: .inference)
      XCTAssertLessThan(output.maxAbsoluteDifference(to: expected), 1e-5, "\(groups) \(dilation)")
    }
    let conv = Conv2D(kernel: Tensor(zeros: Shape(1, 1, 1, 2)), bias: Tensor(zeros: Shape(2)))
    XCTAssertNil(conv.folding(randomNorm(3, &generator)))
  }
}

extension BatchNormalizationTests {
  /// The graph pass folds a batch normalisation into the convolution
  /// before it only when it is that convolution's one reader; the folded
  /// graph computes the same within rounding.
  func testGraphFoldsOnlySoleReaderBatchNormalizations() throws {
    var generator = SeededGenerator(seed: 34)
    func conv(_ cin: Int, _ cout: Int) -> Conv2D {
      Conv2D(
        kernel: GradientCheck.randomTensor(Shape(3, 3, cin, cout), &generator),
        bias: GradientCheck.randomTensor(Shape(cout), &generator), padding: .same)
    }
    let nodes = [
      Graph.Node("c1", conv(2, 3), inputs: ["x"]),
      Graph.Node("n1", randomNorm(3, &generator), inputs: ["c1"]),
      Graph.Node("r", Activation(.relu), inputs: ["n1"]),
      Graph.Node("c2", conv(3, 3), inputs: ["r"]),
      // c2 has two readers: n2 stays.
      Graph.Node("n2", randomNorm(3, &generator), inputs: ["c2"]),
      Graph.Node("sum", Add(), inputs: ["n2", "c2"]),
      // A batch normalisation after a non-convolution stays.
      Graph.Node("n3", randomNorm(3, &generator), inputs: ["sum"]),
    ]
    let graph = try Graph(input: "x", shape: Shape(2, 6, 5), nodes: nodes, output: "n3")
    let folded = try graph.foldingBatchNormalizations()
    XCTAssertEqual(folded.nodes.map(\.name), ["c1", "r", "c2", "n2", "sum", "n3"])
    XCTAssertEqual(folded.nodes[0].output, "n1")
    XCTAssertTrue((folded.nodes[0].op as? Conv2D)?.foldedBatchNormalization == true)
    let input = GradientCheck.randomTensor(Shape(3, 2, 6, 5), &generator)
    var a = Network(graph)
    var b = Network(folded)
    let expected = try a.forward(input, mode: .inference)
    XCTAssertLessThan(
      try b.forward(input, mode: .inference).maxAbsoluteDifference(to: expected), 1e-5)
    // A graph whose output is the convolution's keeps it.
    let tail = try Graph(
      input: "x", shape: Shape(2, 6, 5), nodes: Array(nodes[0...1]), output: "n1")
    XCTAssertEqual(try tail.foldingBatchNormalizations().nodes.count, 1)
  }
}
