import CNN
import Tensors
import XCTest

final class DropoutTests: XCTestCase {
  func testInferenceIsIdentity() {
    var dropout = Dropout(rate: 0.5, generator: SeededGenerator(seed: 1))
    let input = Tensor(shape: Shape(2, 3), storage: [1, 2, 3, 4, 5, 6])
    XCTAssertEqual(dropout.forward(input, mode: .inference), input)
  }

  func testTrainingDropsAboutRateAndScalesSurvivors() {
    var dropout = Dropout(rate: 0.25, generator: SeededGenerator(seed: 2))
    let input = Tensor(shape: Shape(10, 1000), repeating: 1)
    let output = dropout.forward(input, mode: .training)
    let zeros = output.storage.filter { $0 == 0 }.count
    XCTAssertEqual(Double(zeros) / 10_000, 0.25, accuracy: 0.02)
    XCTAssert(output.storage.allSatisfy { $0 == 0 || abs($0 - 1 / 0.75) < 1e-6 })
    // Backward applies the same mask.
    let dInput = dropout.backward(input)
    XCTAssertEqual(dInput, output)
  }

  func testSameSeedSameMaskAndStateRestores() {
    let input = Tensor(shape: Shape(4, 50), repeating: 1)
    var a = Dropout(rate: 0.5, generator: SeededGenerator(seed: 9))
    var b = Dropout(rate: 0.5, generator: SeededGenerator(seed: 9))
    XCTAssertEqual(a.forward(input, mode: .training), b.forward(input, mode: .training))
    let saved = a.generatorState
    let next = a.forward(input, mode: .training)
    XCTAssertNotEqual(next, b.forward(input, mode: .inference))
    a.generatorState = saved
    XCTAssertEqual(a.forward(input, mode: .training), next)
  }

  func testGradientCheck() {
    var generator = SeededGenerator(seed: 3)
    GradientCheck.check(
      Dropout(rate: 0.4, generator: SeededGenerator(seed: 4)),
      input: GradientCheck.randomTensor(Shape(2, 3, 4, 4), &generator))
  }
}

final class FlattenTests: XCTestCase {
  func testEmitsChannelsLastOrderLikeKeras() {
    // (N=1, C=2, H=1, W=3): channel 0 = [1,2,3], channel 1 = [10,20,30].
    var flatten = Flatten()
    let input = Tensor(shape: Shape(1, 2, 1, 3), storage: [1, 2, 3, 10, 20, 30])
    XCTAssertEqual(flatten.outputShape(for: Shape(2, 1, 3)), Shape(6))
    let output = flatten.forward(input, mode: .training)
    XCTAssertEqual(output.shape, Shape(1, 6))
    XCTAssertEqual(output.storage, [1, 10, 2, 20, 3, 30])
    XCTAssertEqual(flatten.backward(output), input)
  }

  func testGradientCheck() {
    var generator = SeededGenerator(seed: 5)
    GradientCheck.check(Flatten(), input: GradientCheck.randomTensor(Shape(2, 3, 2, 4), &generator))
  }
}
