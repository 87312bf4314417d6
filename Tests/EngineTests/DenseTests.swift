import Engine
import Tensors
import XCTest

final class DenseTests: XCTestCase {
  func testHandWorked() throws {
    var layer = Dense(
      kernel: Tensor(shape: Shape(3, 2), storage: [1, 2, 3, 4, 5, 6]),
      bias: Tensor(shape: Shape(2), storage: [0.5, -1]))
    XCTAssertEqual(try layer.outputShape(for: Shape(3)), Shape(2))
    XCTAssertThrowsError(try layer.outputShape(for: Shape(3, 1, 1)), "Flatten first")
    let input = Tensor(shape: Shape(2, 3), storage: [1, 0, -1, 2, 1, 0])
    // [1,0,-1]·W = [1−5, 2−6]; [2,1,0]·W = [2+3, 4+4]
    XCTAssertEqual(try layer.forward(input, mode: .inference).storage, [-3.5, -5, 5.5, 7])
  }

  func testFastPathMatchesReference() {
    var generator = SeededGenerator(seed: 2)
    for (n, inputs, units) in [(1, 5, 3), (7, 64, 33), (100, 300, 40)] {
      var layer = Dense(inputFeatures: inputs, units: units, generator: &generator)
      layer.bias.value = GradientCheck.randomTensor(Shape(units), &generator)
      let input = GradientCheck.randomTensor(Shape(n, inputs), &generator)
      let expected = denseForwardReference(
        input: input, kernel: layer.kernel.value, bias: layer.bias.value)
      XCTAssertLessThan(
        try layer.forward(input, mode: .inference).maxAbsoluteDifference(to: expected), 1e-4)
    }
  }

  func testGradientCheck() throws {
    var generator = SeededGenerator(seed: 4)
    var layer = Dense(inputFeatures: 6, units: 4, generator: &generator)
    layer.bias.value = GradientCheck.randomTensor(Shape(4), &generator)
    try GradientCheck.check(layer, input: GradientCheck.randomTensor(Shape(3, 6), &generator))
    // Large enough that the products are split between the workers.
    let big = Dense(inputFeatures: 200, units: 30, generator: &generator)
    try GradientCheck.check(
      big, input: GradientCheck.randomTensor(Shape(20, 200), &generator), samples: 20)
  }

  func testActivationsAndGradientCheck() throws {
    var generator = SeededGenerator(seed: 19)
    let input = GradientCheck.randomTensor(Shape(4, 6), &generator)
    for function in Activation.Function.allCases {
      let dense = Dense(inputFeatures: 6, units: 5, generator: &generator)
      var network = Network(inputShape: Shape(6), layers: [dense, Activation(function)])
      var plain = dense
      var separate = Activation(function)
      let expected = try separate.forward(plain.forward(input, mode: .inference), mode: .inference)
      XCTAssertLessThan(
        try network.forward(input, mode: .inference).maxAbsoluteDifference(to: expected), 1e-6)
      if function != .relu { try GradientCheck.check(network, input: input) }
    }
  }
}
