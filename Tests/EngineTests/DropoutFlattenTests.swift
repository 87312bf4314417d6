@testable import Engine
import Tensors
import XCTest

final class DropoutTests: XCTestCase {
  func testInferenceIsIdentity() {
    var dropout = Dropout(rate: 0.5, generator: SeededGenerator(seed: 1))
    let input = Tensor(shape: Shape(2, 3), storage: [1, 2, 3, 4, 5, 6])
    XCTAssertEqual(try dropout.forward(input, mode: .inference), input)
  }

  func testTrainingDropsAboutRateAndScalesSurvivors() throws {
    var dropout = Dropout(rate: 0.25, generator: SeededGenerator(seed: 2))
    let input = Tensor(shape: Shape(10, 1000), repeating: 1)
    let output = try dropout.forward(input, mode: .training)
    let zeros = output.storage.filter { $0 == 0 }.count
    XCTAssertEqual(Double(zeros) / 10_000, 0.25, accuracy: 0.02)
    XCTAssert(output.storage.allSatisfy { $0 == 0 || abs($0 - 1 / 0.75) < 1e-6 })
    // Backward applies the same mask.
    let dInput = try dropout.backward(input)
    XCTAssertEqual(dInput, output)
  }

  func testSameSeedSameMaskAndStateRestores() throws {
    let input = Tensor(shape: Shape(4, 50), repeating: 1)
    var a = Dropout(rate: 0.5, generator: SeededGenerator(seed: 9))
    var b = Dropout(rate: 0.5, generator: SeededGenerator(seed: 9))
    XCTAssertEqual(try a.forward(input, mode: .training), try b.forward(input, mode: .training))
    let saved = a.generatorState
    let next = try a.forward(input, mode: .training)
    XCTAssertNotEqual(next, try b.forward(input, mode: .inference))
    a.generatorState = saved
    XCTAssertEqual(try a.forward(input, mode: .training), next)
  }

  func testKernelMaskEqualsReferenceDrawsAndAdvancesGenerator() throws {
    var generator = SeededGenerator(seed: 17)
    // Small: one pass. Large: chunks on the threads, each jumping ahead to
    // its blocks, four generators interleaved, the last block short (the
    // count is no multiple of the 4,096-element blocks); the sizes
    // cifar-cnn's dropouts see in a batch of 100 too.
    for shape in [Shape(3, 5, 7, 11), Shape(3, 64, 31, 17), Shape(100, 32, 15, 15)] {
      let input = GradientCheck.randomTensor(shape, &generator)
      for rate: Float in [0.25, 0.5, 0.9] {
        var dropout = Dropout(rate: rate, generator: SeededGenerator(seed: 21))
        var reference = SeededGenerator(seed: 21)
        let mask = Dropout.referenceMask(count: input.count, rate: rate, generator: &reference)
        let output = try dropout.forward(input, mode: .training)
        XCTAssertEqual(
          output.storage, zip(input.storage, mask).map { $0 * $1 }, "\(shape) rate \(rate)")
        XCTAssertEqual(dropout.generator, reference, "generator advanced by one draw per element")
        let dropped = mask.filter { $0 == 0 }.count
        XCTAssertEqual(Double(dropped) / Double(mask.count), Double(rate), accuracy: 0.05)
        // Backward applies the same mask to the gradient.
        let dOutput = GradientCheck.randomTensor(shape, &generator)
        XCTAssertEqual(
          try dropout.backward(dOutput).storage, zip(dOutput.storage, mask).map { $0 * $1 },
          "backward \(shape) rate \(rate)")
      }
    }
  }

  func testGradientCheck() throws {
    var generator = SeededGenerator(seed: 3)
    try GradientCheck.check(
      Dropout(rate: 0.4, generator: SeededGenerator(seed: 4)),
      input: GradientCheck.randomTensor(Shape(2, 3, 4, 4), &generator))
  }
}

final class FlattenTests: XCTestCase {
  func testEmitsChannelsLastOrderLikeKeras() throws {
    // (N=1, C=2, H=1, W=3): channel 0 = [1,2,3], channel 1 = [10,20,30].
    var flatten = Flatten()
    let input = Tensor(shape: Shape(1, 2, 1, 3), storage: [1, 2, 3, 10, 20, 30])
    XCTAssertEqual(flatten.outputShape(for: Shape(2, 1, 3)), Shape(6))
    let output = try flatten.forward(input, mode: .training)
    XCTAssertEqual(output.shape, Shape(1, 6))
    XCTAssertEqual(output.storage, [1, 10, 2, 20, 3, 30])
    XCTAssertEqual(try flatten.backward(output), input)
  }

  func testMatchesIndexFormulaAcrossTileEdges() throws {
    // Sizes that are not multiples of the kernel's 16×16 tiles, odd batch.
    var generator = SeededGenerator(seed: 6)
    let (n, c, h, w) = (3, 20, 17, 5)
    let input = GradientCheck.randomTensor(Shape(n, c, h, w), &generator)
    var flatten = Flatten()
    let output = try flatten.forward(input, mode: .training)
    for b in 0..<n {
      for ch in 0..<c {
        for y in 0..<h {
          for x in 0..<w {
            let feature = (y * w + x) * c + ch
            XCTAssertEqual(
              output.storage[b * c * h * w + feature],
              input.storage[input.offset(n: b, c: ch, y: y, x: x)])
          }
        }
      }
    }
    XCTAssertEqual(try flatten.backward(output), input)
  }

  func testGradientCheck() throws {
    var generator = SeededGenerator(seed: 5)
    try GradientCheck.check(
      Flatten(), input: GradientCheck.randomTensor(Shape(2, 3, 2, 4), &generator))
  }
}
