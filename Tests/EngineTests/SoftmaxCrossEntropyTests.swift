import Engine
import Foundation
import Tensors
import XCTest

final class SoftmaxCrossEntropyTests: XCTestCase {
  func testHandWorkedLossAndGradient() {
    // Logits [0, ln 3]: softmax [1/4, 3/4]. Label 1 → −ln 0.75; label 0 → −ln 0.25.
    let logits = Tensor(shape: Shape(2, 2), storage: [0, Float(log(3.0)), 0, Float(log(3.0))])
    let result = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: [1, 0])
    XCTAssertEqual(result.loss, Float((-log(0.75) - log(0.25)) / 2), accuracy: 1e-6)
    let expected: [Float] = [0.25 / 2, -0.25 / 2, -0.75 / 2, 0.75 / 2]
    for i in 0..<4 { XCTAssertEqual(result.dLogits.storage[i], expected[i], accuracy: 1e-6) }
  }

  func testStableForHugeLogits() {
    let logits = Tensor(shape: Shape(1, 3), storage: [1000, -1000, 0])
    let result = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: [1])
    XCTAssertEqual(result.loss, 2000, accuracy: 1e-2)
    XCTAssert(result.dLogits.storage.allSatisfy(\.isFinite))
  }

  func testProbabilityPathClipsLikeKeras() {
    let probabilities = Tensor(shape: Shape(1, 2), storage: [1, 0])
    let result = SoftmaxCrossEntropy.lossAndGradient(probabilities: probabilities, labels: [1])
    XCTAssertEqual(result.loss, Float(-log(1e-7)), accuracy: 1e-3)
  }

  func testLogitGradientMatchesCentralDifference() throws {
    var generator = SeededGenerator(seed: 13)
    let logits = GradientCheck.randomTensor(Shape(4, 5), &generator, scale: 3)
    let labels = [0, 4, 2, 2]
    let analytic = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: labels).dLogits
    let epsilon: Float = 1e-2
    for i in 0..<logits.count {
      var plus = logits, minus = logits
      plus.storage[i] += epsilon
      minus.storage[i] -= epsilon
      let numeric =
        (Double(SoftmaxCrossEntropy.lossAndGradient(logits: plus, labels: labels).loss)
          - Double(SoftmaxCrossEntropy.lossAndGradient(logits: minus, labels: labels).loss))
        / Double(2 * epsilon)
      XCTAssertLessThan(
        GradientCheck.relativeError(Double(analytic.storage[i]), numeric), 1e-2, "logit \(i)")
    }
    // The probability path agrees with the fused path through softmax's backward.
    var softmax = Activation(.softmax)
    let p = try softmax.forward(logits, mode: .training)
    let dp = SoftmaxCrossEntropy.lossAndGradient(probabilities: p, labels: labels).dProbabilities
    XCTAssertLessThan(try softmax.backward(dp).maxAbsoluteDifference(to: analytic), 1e-5)
  }
}
