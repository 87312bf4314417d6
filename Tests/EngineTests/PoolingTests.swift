import Engine
import Tensors
import XCTest

final class PoolingTests: XCTestCase {
  // 4×4 plane 1...16 (row-major).
  private let plane = Tensor(shape: Shape(1, 1, 4, 4), storage: (1...16).map(Float.init))

  func testShapes() throws {
    XCTAssertEqual(try Pooling2D(.max).outputShape(for: Shape(32, 24, 24)), Shape(32, 12, 12))
    XCTAssertEqual(
      try Pooling2D(.max, poolSize: (3, 3), strides: (2, 2)).outputShape(for: Shape(8, 13, 13)),
      Shape(8, 6, 6))
    XCTAssertEqual(
      try Pooling2D(.average, poolSize: (3, 3), strides: (2, 2), padding: .same).outputShape(
        for: Shape(1, 5, 4)),
      Shape(1, 3, 2))
    XCTAssertThrowsError(try Pooling2D(.max, poolSize: (3, 3)).outputShape(for: Shape(1, 2, 5))) {
      XCTAssertEqual(
        $0 as? EngineError,
        .windowLargerThanInput(windowHeight: 3, windowWidth: 3, inputHeight: 2, inputWidth: 5))
    }
    XCTAssertEqual(Pooling2D(.max).kind, "MaxPooling2D")
    XCTAssertEqual(Pooling2D(.average).kind, "AveragePooling2D")
  }

  func testHandWorkedMaxAverageL2() {
    var maxPool = Pooling2D(.max)
    XCTAssertEqual(try maxPool.forward(plane, mode: .inference).storage, [6, 8, 14, 16])
    var average = Pooling2D(.average)
    XCTAssertEqual(try average.forward(plane, mode: .inference).storage, [3.5, 5.5, 11.5, 13.5])
    var l2 = Pooling2D(.l2)
    let meanOfSquares: Double = (1.0 + 4.0 + 25.0 + 36.0) / 4.0
    let first = Float(meanOfSquares.squareRoot())
    XCTAssertEqual(try l2.forward(plane, mode: .inference).storage[0], first, accuracy: 1e-5)
  }

  func testOverlappingPools() throws {
    var maxPool = Pooling2D(.max, poolSize: (3, 3), strides: (1, 1))
    XCTAssertEqual(try maxPool.forward(plane, mode: .inference).storage, [11, 12, 15, 16])
    var average = Pooling2D(.average, poolSize: (3, 3), strides: (2, 2), padding: .same)
    // 'same', k=3, s=2 on 4: out 2, total pad 1 → after. Windows rows {0,1,2} and {2,3}.
    let output = try average.forward(plane, mode: .inference).storage
    XCTAssertEqual(output, [6, 7.5, 12, 13.5])
  }

  func testMaxBackwardRoutesToWinner() throws {
    var maxPool = Pooling2D(.max)
    _ = try maxPool.forward(plane, mode: .training)
    let dInput = try maxPool.backward(Tensor(shape: Shape(1, 1, 2, 2), storage: [1, 2, 3, 4]))
    var expected = [Float](repeating: 0, count: 16)
    expected[5] = 1
    expected[7] = 2
    expected[13] = 3
    expected[15] = 4
    XCTAssertEqual(dInput.storage, expected)
  }

  func testGradientChecks() throws {
    var generator = SeededGenerator(seed: 12)
    // Distinct values spaced well above epsilon, so the max never changes hands.
    var values: [Float] = (0..<294).map { (i: Int) -> Float in Float(i) * 0.05 - 7 }
    values.shuffle(using: &generator)
    let input = Tensor(shape: Shape(2, 3, 7, 7), storage: values)
    let positive = Tensor(shape: input.shape, storage: values.map { abs($0) + 0.5 })
    for reduction in Pooling2D.Reduction.allCases {
      let x = reduction == .l2 ? positive : input
      try GradientCheck.check(Pooling2D(reduction), input: x, epsilon: 1e-2)
      try GradientCheck.check(Pooling2D(reduction, poolSize: (3, 3), strides: (2, 2)), input: x)
      try GradientCheck.check(Pooling2D(reduction, poolSize: (2, 2), padding: .same), input: x)
    }
  }

  func testMaxPoolFastPathMatchesReference() throws {
    var generator = SeededGenerator(seed: 21)
    let configurations: [((Int, Int), (Int, Int), Padding, Shape)] = [
      ((2, 2), (2, 2), .valid, Shape(3, 4, 24, 24)),
      ((3, 3), (2, 2), .valid, Shape(2, 3, 13, 11)),
      ((3, 3), (2, 2), .same, Shape(3, 2, 9, 10)),
      ((2, 3), (1, 2), .same, Shape(1, 5, 7, 6)),
    ]
    for (pool, strides, padding, shape) in configurations {
      let input = GradientCheck.randomTensor(shape, &generator)
      var layer = Pooling2D(.max, poolSize: pool, strides: strides, padding: padding)
      let output = try layer.forward(input, mode: .training)
      let expected = pooling2dForwardReference(
        input: input, reduction: .max, poolSize: pool, strides: strides, padding: padding)
      XCTAssertEqual(output, expected)
      let dOutput = GradientCheck.randomTensor(output.shape, &generator)
      let dExpected = pooling2dBackwardReference(
        input: input, dOutput: dOutput, reduction: .max, poolSize: pool, strides: strides,
        padding: padding)
      XCTAssertLessThan(try layer.backward(dOutput).maxAbsoluteDifference(to: dExpected), 1e-6)
    }
  }
}
