import Engine
import Tensors
import XCTest

/// ONNX's pooling options (ceil mode, count_include_pad, dilations) and
/// global pooling.
final class PoolingOptionsTests: XCTestCase {
  // 4×4 plane 1...16 (row-major).
  private let plane = Tensor(shape: Shape(1, 1, 4, 4), storage: (1...16).map(Float.init))

  func testCeilModeKeepsThePartialWindow() throws {
    let window = PoolWindow(size: (3, 3), strides: (2, 2), ceilMode: true)
    var maxPool = Pooling2D(.max, window: window)
    XCTAssertEqual(try maxPool.outputShape(for: Shape(1, 4, 4)), Shape(1, 2, 2))
    XCTAssertEqual(try maxPool.forward(plane, mode: .inference).storage, [11, 12, 15, 16])
    var average = Pooling2D(.average, window: window)
    // The last windows hold rows/columns 2...3 only: (11+12+15+16)/4 = 13.5.
    XCTAssertEqual(
      try average.forward(plane, mode: .inference).storage, [6, 7.5, 12, 13.5])
    // A window that would start past the input and its padding is dropped:
    // 4 cells, window 1, stride 2 → ⌈3 / 2⌉ + 1 = 3, less the one at cell 4.
    let edge = PoolWindow(size: (1, 1), strides: (2, 2), ceilMode: true)
    XCTAssertEqual(
      try Pooling2D(.max, window: edge).outputShape(for: Shape(1, 4, 4)), Shape(1, 2, 2))
  }

  func testCountIncludePad() throws {
    let ones = Tensor(shape: Shape(1, 1, 3, 3), repeating: 1)
    var excluded = Pooling2D(
      .average, window: PoolWindow(size: (3, 3), strides: (1, 1), padding: .symmetric(1)))
    XCTAssertEqual(
      try excluded.forward(ones, mode: .inference).storage, Array(repeating: 1, count: 9))
    var included = Pooling2D(
      .average,
      window: PoolWindow(
        size: (3, 3), strides: (1, 1), padding: .symmetric(1), countIncludePad: true))
    XCTAssertEqual(
      try included.forward(ones, mode: .inference).storage,
      [4, 6, 4, 6, 9, 6, 4, 6, 4].map { Float($0) / 9 })
  }

  func testDilatedMaxPool() throws {
    var pool = Pooling2D(.max, window: PoolWindow(size: (2, 2), strides: (1, 1), dilations: (2, 2)))
    // Taps (0,0) (0,2) (2,0) (2,2) from each corner of a 2×2 output.
    XCTAssertEqual(try pool.forward(plane, mode: .inference).storage, [11, 12, 15, 16])
    XCTAssertNil(pool.fusionRole)
  }

  /// The C max pooling with ceil mode and padding against the reference.
  func testCeilModeFastPathMatchesReference() throws {
    var generator = SeededGenerator(seed: 41)
    for (size, stride, pad) in [(3, 2, 1), (2, 2, 0), (3, 3, 1), (2, 1, 1)] {
      let window = PoolWindow(
        size: (size, size), strides: (stride, stride),
        padding: .explicit(top: pad, bottom: 0, left: 0, right: pad),
        ceilMode: true)
      let input = GradientCheck.randomTensor(Shape(2, 3, 7, 8), &generator)
      var pool = Pooling2D(.max, window: window)
      let output = try pool.forward(input, mode: .training)
      let expected = pooling2dForwardReference(input: input, reduction: .max, window: window)
      XCTAssertEqual(output.storage, expected.storage, "\(size) \(stride) \(pad)")
      let dOutput = GradientCheck.randomTensor(output.shape, &generator)
      XCTAssertEqual(
        try pool.backward(dOutput).storage,
        pooling2dBackwardReference(input: input, dOutput: dOutput, reduction: .max, window: window)
          .storage)
    }
  }

  func testGradientChecks() throws {
    var generator = SeededGenerator(seed: 42)
    let input = GradientCheck.randomTensor(Shape(2, 2, 7, 6), &generator)
    try GradientCheck.check(
      Pooling2D(
        .average,
        window: PoolWindow(
          size: (3, 3), strides: (2, 2), padding: .symmetric(1), ceilMode: true,
          countIncludePad: true)),
      input: input)
    try GradientCheck.check(
      Pooling2D(.max, window: PoolWindow(size: (2, 2), strides: (2, 1), dilations: (2, 1))),
      input: input, epsilon: 1e-3)
    try GradientCheck.check(GlobalPooling2D(.average), input: input)
    try GradientCheck.check(GlobalPooling2D(.max), input: input, epsilon: 1e-3)
  }

  func testGlobalPoolingMatchesWholePlaneWindow() throws {
    var generator = SeededGenerator(seed: 43)
    let input = GradientCheck.randomTensor(Shape(3, 4, 5, 7), &generator)
    for reduction in [Pooling2D.Reduction.max, .average] {
      var global = GlobalPooling2D(reduction)
      XCTAssertEqual(try global.outputShape(for: Shape(4, 5, 7)), Shape(4, 1, 1))
      let output = try global.forward(input, mode: .training)
      let expected = pooling2dForwardReference(
        input: input, reduction: reduction, poolSize: (5, 7), strides: (1, 1), padding: .valid)
      XCTAssertLessThan(output.maxAbsoluteDifference(to: expected), 1e-5, "\(reduction)")
      let dOutput = GradientCheck.randomTensor(output.shape, &generator)
      let dExpected = pooling2dBackwardReference(
        input: input, dOutput: dOutput, reduction: reduction, poolSize: (5, 7), strides: (1, 1),
        padding: .valid)
      XCTAssertLessThan(try global.backward(dOutput).maxAbsoluteDifference(to: dExpected), 1e-6)
    }
    XCTAssertThrowsError(try GlobalPooling2D(.max).outputShape(for: Shape(4)))
  }
}

extension PoolingOptionsTests {
  /// The C average pooling sums in the reference's order: the same bits,
  /// forward and backward, with and without padded cells counted.
  func testAverageFastPathIsBitIdenticalToReference() throws {
    var generator = SeededGenerator(seed: 44)
    let windows = [
      PoolWindow(size: (2, 2)),
      PoolWindow(size: (3, 3), strides: (2, 2), padding: .same),
      PoolWindow(size: (3, 2), strides: (2, 1), padding: .symmetric(1), countIncludePad: true),
      PoolWindow(
        size: (3, 3), strides: (2, 2), padding: .explicit(top: 0, bottom: 1, left: 1, right: 0),
        ceilMode: true, countIncludePad: true),
    ]
    for window in windows {
      let input = GradientCheck.randomTensor(Shape(2, 3, 9, 8), &generator)
      var pool = Pooling2D(.average, window: window)
      let output = try pool.forward(input, mode: .training)
      let expected = pooling2dForwardReference(input: input, reduction: .average, window: window)
      XCTAssertEqual(output.storage, expected.storage, "\(window)")
      let dOutput = GradientCheck.randomTensor(output.shape, &generator)
      let dExpected = pooling2dBackwardReference(
        input: input, dOutput: dOutput, reduction: .average, window: window)
      XCTAssertEqual(try pool.backward(dOutput).storage, dExpected.storage, "\(window)")
    }
  }
}
