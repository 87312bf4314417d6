import Foundation
import Tensors
import XCTest

@testable import Engine

/// In training, a convolution read only by a next convolution hands it its
/// output in oneDNN's layout and gets the gradient back in it
/// (`ExecutionPlan.Step.keepsOneDNNTrainingLayout`): nothing about the
/// numbers may change, as a reorder only moves floats.
final class OneDNNTrainingLayoutTests: XCTestCase {
  override func tearDown() {
    OneDNNTraining.keepsLayouts = true
    OneDNNTraining.takesEveryConvolution = false
  }

  /// conv+ReLU → conv+ReLU → max pooling → conv → conv+ReLU → dense: the
  /// plan marks the two pairs (and nothing else), the second convolution
  /// of each pair reads its input in oneDNN's layout, and a training step
  /// gives the same loss, probabilities and gradients, bit for bit, as with
  /// every tensor going through NCHW; so does the gradient of the input.
  func testConvolutionPairsHandOverTheirLayoutWithTheSameBits() throws {
    try OneDNNTesting.skipUnlessUsable()
    guard OneDNNTraining.instructionSet.hasPrefix("avx") else {
      throw XCTSkip(
        "oneDNN kernels here are \(OneDNNTraining.instructionSet), which training does not "
          + "use; the oneDNN training path is not tested on this CPU")
    }
    // Every plain convolution on oneDNN, so that an AVX2 machine tests the
    // hand-over too (in its nChw8c layouts).
    OneDNNTraining.takesEveryConvolution = true
    var generator = SeededGenerator(seed: 71)
    func conv(_ cin: Int, _ cout: Int, padding: Padding) -> Conv2D {
      Conv2D(
        kernel: GradientCheck.randomTensor(Shape(3, 3, cin, cout), &generator, scale: 0.3),
        bias: GradientCheck.randomTensor(Shape(cout), &generator), padding: padding)
    }
    let layers: [any Layer] = [
      conv(3, 32, padding: .same), Activation(.relu),
      conv(32, 32, padding: .valid), Activation(.relu), Pooling2D(.max),
      conv(32, 16, padding: .same),
      conv(16, 16, padding: .valid), Activation(.relu),
      Flatten(),
    ]
    let inputShape = Shape(3, 16, 14)
    let flat = Network(inputShape: inputShape, layers: layers).inferencePlan.outputShape[0]
    let network = Network(
      inputShape: inputShape,
      layers: layers + [
        Dense(
          kernel: GradientCheck.randomTensor(Shape(flat, 10), &generator, scale: 0.1),
          bias: GradientCheck.randomTensor(Shape(10), &generator)),
        Activation(.softmax),
      ])
    XCTAssertEqual(
      network.trainingPlan.steps.map(\.keepsOneDNNTrainingLayout),
      [true, false, true, false, false, false], "\(network.trainingPlan.steps.map(\.names))")
    // 13 images: chunks of one and two images, so both chunk sizes' layouts.
    let input = GradientCheck.randomTensor(Shape([13] + inputShape.dims), &generator)
    let labels = (0..<13).map { $0 % 10 }

    func step(keeping: Bool) throws -> (Float, Tensor, [Tensor], Tensor, [Bool]) {
      OneDNNTraining.keepsLayouts = keeping
      var net = network
      net.zeroGradients()
      let logits = try net.execute(net.trainingPlan, input: input, mode: .training)
      let handedOver = [2, 6].map { k in
        guard case .oneDNN = (net.graph.nodes[k].op as? Conv2D)?.oneDNNTrainingRun?.input
        else { return false }
        return true
      }
      let loss = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: labels)
      let dInput = try XCTUnwrap(try net.backward(loss.dLogits, inputGradient: true))
      var gradients: [Tensor] = []
      net.forEachParameter { gradients.append($0.grad) }
      return (loss.loss, loss.probabilities, gradients, dInput, handedOver)
    }
    let kept = try step(keeping: true)
    let plain = try step(keeping: false)
    XCTAssertEqual(kept.4, [true, true], "both second convolutions read oneDNN's layout")
    XCTAssertEqual(plain.4, [false, false], "off: NCHW between them")
    XCTAssertEqual(kept.0, plain.0, "loss")
    XCTAssertTrue(kept.1 == plain.1, "probabilities")
    XCTAssertEqual(kept.2.count, plain.2.count)
    for (i, (a, b)) in zip(kept.2, plain.2).enumerated() {
      XCTAssertTrue(a == b, "gradient \(i) differs by \(a.maxAbsoluteDifference(to: b))")
      XCTAssertGreaterThan(a.storage.map(abs).max() ?? 0, 0, "gradient \(i) is not all zero")
    }
    XCTAssertTrue(kept.3 == plain.3, "input gradient")
  }
}
