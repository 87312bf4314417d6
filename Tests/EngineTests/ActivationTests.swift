import Engine
import Foundation
import Tensors
import XCTest

final class ActivationTests: XCTestCase {
  func testHandWorkedValues() throws {
    let input = Tensor(shape: Shape(1, 4), storage: [-2, -0.5, 0, 1.5])
    var relu = Activation(.relu)
    XCTAssertEqual(try relu.forward(input, mode: .inference).storage, [0, 0, 0, 1.5])
    var linear = Activation(.linear)
    XCTAssertEqual(try linear.forward(input, mode: .inference), input)
    var sigmoid = Activation(.sigmoid)
    let s = try sigmoid.forward(input, mode: .inference).storage
    XCTAssertEqual(s[2], 0.5)
    XCTAssertEqual(s[3], Float(1 / (1 + exp(-1.5))), accuracy: 1e-6)
    var tanh = Activation(.tanh)
    XCTAssertEqual(
      try tanh.forward(input, mode: .inference).storage[0], Float(Foundation.tanh(-2.0)),
      accuracy: 1e-6
    )
    var softmax = Activation(.softmax)
    let p = try softmax.forward(Tensor(shape: Shape(1, 2), storage: [0, log(3)]), mode: .inference)
    XCTAssertEqual(p.storage[0], 0.25, accuracy: 1e-6)
    XCTAssertEqual(p.storage[1], 0.75, accuracy: 1e-6)
  }

  func testSoftmaxDoesNotOverflow() throws {
    var softmax = Activation(.softmax)
    let p = try softmax.forward(
      Tensor(shape: Shape(1, 3), storage: [1000, 1000, -1000]), mode: .inference)
    XCTAssertEqual(p.storage, [0.5, 0.5, 0])
  }

  func testGradientChecks() throws {
    var generator = SeededGenerator(seed: 6)
    var input = GradientCheck.randomTensor(Shape(3, 2, 3, 4), &generator, scale: 2)
    // Keep ReLU inputs away from the kink, where the difference quotient lies.
    for i in 0..<input.count where abs(input.storage[i]) < 0.1 { input.storage[i] += 0.3 }
    for function in [Activation.Function.relu, .sigmoid, .tanh, .linear] {
      try GradientCheck.check(Activation(function), input: input)
    }
    try GradientCheck.check(
      Activation(.softmax), input: GradientCheck.randomTensor(Shape(4, 5), &generator))
  }
}
