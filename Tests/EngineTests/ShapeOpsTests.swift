import Tensors
import XCTest

@testable import Engine

/// The parameterised activations, broadcasting arithmetic and the shape
/// operations ONNX models bring: hand-worked values, the row walks
/// against `StridedReference`, and gradient checks of every input.
final class ShapeOpsTests: XCTestCase {
  func testParametricActivationsByHand() throws {
    let x = Tensor(shape: Shape(1, 6), storage: [-4, -1, 0, 0.5, 3, 7])
    func run(_ function: ParametricActivation.Function) throws -> [Float] {
      var op = ParametricActivation(function)
      return try op.forward(x, mode: .inference).storage
    }
    XCTAssertEqual(try run(.leakyRelu(alpha: 0.1)), [-0.4, -0.1, 0, 0.5, 3, 7])
    XCTAssertEqual(try run(.clip(low: 0, high: 6)), [0, 0, 0, 0.5, 3, 6])
    // max(0, min(1, 0.2x + 0.5)).
    let hardSigmoid = try run(.hardSigmoid(alpha: 0.2, beta: 0.5))
    for (value, expected) in zip(hardSigmoid, [0, 0.3, 0.5, 0.6, 1, 1] as [Float]) {
      XCTAssertEqual(value, expected, accuracy: 1e-6)
    }
    // x · max(0, min(1, x/6 + 1/2)): 0.5 · (0.5/6 + 0.5) = 0.2916…, 3 · 1.
    let hardSwish = try run(.hardSwish)
    for (value, expected) in zip(hardSwish, [0, -1.0 / 3, 0, 0.5 * (0.5 / 6 + 0.5), 3, 7]) {
      XCTAssertEqual(value, Float(expected), accuracy: 1e-6)
    }
    XCTAssertEqual(ParametricActivation(.clip(low: 0, high: 6)).kind, "ReLU6")
    XCTAssertEqual(ParametricActivation(.clip(low: -1, high: 1)).kind, "Clip")
  }

  func testParametricActivationGradientChecks() throws {
    var generator = SeededGenerator(seed: 21)
    var input = GradientCheck.randomTensor(Shape(2, 3, 4, 4), &generator, scale: 5)
    // Keep inputs away from the kinks (0, ±3, 6, hard sigmoid's ±2.5),
    // where the difference quotient straddles two slopes.
    for i in 0..<input.count {
      let v = input.storage[i]
      if [0, 3, -3, 6, 2.5, -2.5].contains(where: { abs(v - $0) < 0.1 }) {
        input.storage[i] += 0.25
      }
    }
    for function in [
      ParametricActivation.Function.leakyRelu(alpha: 0.2), .clip(low: 0, high: 6),
      .clip(low: -2, high: 1.5), .hardSigmoid(alpha: 0.2, beta: 0.5), .hardSwish,
    ] {
      try GradientCheck.check(ParametricActivation(function), input: input)
    }
  }

  func testWalkMatchesReferenceOnRandomBroadcasts() throws {
    var generator = SeededGenerator(seed: 22)
    let pairs: [([Int], [Int])] = [
      ([2, 3, 4, 5], [2, 3, 1, 1]),  // squeeze-and-excitation
      ([2, 3, 4, 5], [2, 3, 4, 5]),
      ([2, 3, 4, 5], [5]),
      ([2, 1, 4, 1], [2, 3, 1, 5]),  // both broadcast
      ([3, 1], [1, 4]),
      ([1, 3, 1, 1], [2, 3, 4, 5]),  // a constant on the left
      ([2, 3, 4], []),
      ([2, 1, 1], [2, 1, 1]),
    ]
    for (a, b) in pairs {
      let left = GradientCheck.randomTensor(Shape(a), &generator)
      var right = GradientCheck.randomTensor(Shape(b), &generator)
      for i in 0..<right.count where abs(right.storage[i]) < 0.2 { right.storage[i] = 0.7 }
      for operation in Arithmetic.Operator.allCases {
        var op = Arithmetic(operation)
        let fast = try op.forward([left, right], mode: .training)
        let reference = StridedReference.arithmetic(operation, left, right)
        XCTAssertEqual(fast, reference, "\(operation) \(a) \(b)")
        let dOutput = GradientCheck.randomTensor(fast.shape, &generator)
        let gradients = try op.backward(dOutput, needsInputGradients: [true, true])
        let expected = StridedReference.arithmeticGradients(
          operation, left, right, dOutput: dOutput)
        for (got, want) in zip(gradients, [expected.dLeft, expected.dRight]) {
          let got = try XCTUnwrap(got)
          XCTAssertEqual(got.shape, want.shape)
          XCTAssertLessThan(got.maxAbsoluteDifference(to: want), 1e-5, "\(operation) \(a) \(b)")
        }
      }
    }
  }

  /// x · gate with a (C, 1, 1) gate: each channel scaled by its value; the
  /// gate's gradient is Σ over the channel's pixels of dy · x.
  func testChannelGateByHand() throws {
    var op = Arithmetic(.multiply)
    let x = Tensor(shape: Shape(1, 2, 1, 2), storage: [1, 2, 3, 4])
    let gate = Tensor(shape: Shape(1, 2, 1, 1), storage: [10, -1])
    XCTAssertEqual(try op.outputShape(for: [Shape(2, 1, 2), Shape(2, 1, 1)]), Shape(2, 1, 2))
    XCTAssertEqual(try op.forward([x, gate], mode: .training).storage, [10, 20, -3, -4])
    let d = try op.backward(
      Tensor(shape: Shape(1, 2, 1, 2), repeating: 1), needsInputGradients: [true, true])
    XCTAssertEqual(d[0]?.storage, [10, 10, -1, -1])
    XCTAssertEqual(d[1]?.storage, [3, 7])
    XCTAssertEqual(d[1]?.shape, Shape(1, 2, 1, 1))
  }

  func testConstantOperandIsAlignedWithTheBatchAxis() throws {
    // (C, 1, 1) right-aligned against (N, C, H, W): a per-channel bias.
    var bias = Arithmetic(.add, constant: Tensor(shape: Shape(2, 1, 1), storage: [1, -1]))
    XCTAssertEqual(try bias.outputShape(for: [Shape(2, 2, 2)]), Shape(2, 2, 2))
    let x = Tensor(zeros: Shape(2, 2, 1, 2))
    XCTAssertEqual(try bias.forward([x], mode: .inference).storage, [1, 1, -1, -1, 1, 1, -1, -1])
    // c − x, the constant on the left.
    var reversed = Arithmetic(
      .subtract, constant: Tensor(shape: Shape([]), storage: [1]), constantFirst: true)
    XCTAssertEqual(
      try reversed.forward([Tensor(shape: Shape(1, 2), storage: [3, 4])], mode: .inference)
        .storage, [-2, -3])
    // A constant with a batch axis of 3 runs on batches of 3 only.
    var batched = Arithmetic(.multiply, constant: Tensor(zeros: Shape(3, 2)))
    XCTAssertEqual(try batched.outputShape(for: [Shape(2)]), Shape(2))
    XCTAssertNoThrow(try batched.forward([Tensor(zeros: Shape(3, 2))], mode: .inference))
    XCTAssertThrowsError(try batched.forward([Tensor(zeros: Shape(2, 2))], mode: .inference))
    // Shapes that do not broadcast, and computed inputs of two ranks.
    XCTAssertThrowsError(try Arithmetic(.add).outputShape(for: [Shape(2, 3), Shape(2, 4)]))
    XCTAssertThrowsError(try Arithmetic(.add).outputShape(for: [Shape(2, 3), Shape(3)]))
    XCTAssertThrowsError(
      try Arithmetic(.add, constant: Tensor(zeros: Shape(1, 1, 3))).outputShape(for: [Shape(3)]))
  }

  /// Squeeze-and-excitation's join and a constant scale and shift, checked
  /// through a graph: both readers of x get their share of the gradient,
  /// and the constants get theirs.
  func testArithmeticGradientChecks() throws {
    var generator = SeededGenerator(seed: 23)
    let scale = GradientCheck.randomTensor(Shape(3, 1, 1), &generator)
    var divisor = GradientCheck.randomTensor(Shape(1, 1, 4), &generator)
    for i in 0..<divisor.count { divisor.storage[i] = 1 + abs(divisor.storage[i]) }
    let network = Network(
      try Graph(
        input: "x", shape: Shape(3, 2, 4),
        nodes: [
          Graph.Node("scaled", Arithmetic(.multiply, constant: scale), inputs: ["x"]),
          Graph.Node("pool", Pooling2D(.average, poolSize: (2, 4)), inputs: ["scaled"]),
          Graph.Node("gate", Activation(.sigmoid), inputs: ["pool"]),
          Graph.Node("se", Arithmetic(.multiply), inputs: ["x", "gate"]),
          Graph.Node("sub", Arithmetic(.subtract), inputs: ["se", "x"]),
          Graph.Node(
            "div", Arithmetic(.divide, constant: divisor, constantFirst: false), inputs: ["sub"]),
          Graph.Node(
            "inv",
            Arithmetic(
              .divide, constant: Tensor(shape: Shape(1), storage: [2]), constantFirst: true),
            inputs: ["shifted"]),
          Graph.Node("shifted", Arithmetic(.add, constant: divisor), inputs: ["div"]),
          Graph.Node("out", Arithmetic(.add), inputs: ["inv", "div"]),
        ],
        output: "out"))
    var input = GradientCheck.randomTensor(Shape(2, 3, 2, 4), &generator)
    for i in 0..<input.count { input.storage[i] = 0.5 + abs(input.storage[i]) }
    try GradientCheck.check(network, input: input, epsilon: 1e-3)
  }

  func testTransposeMatchesReferenceAndInvertsInBackward() throws {
    var generator = SeededGenerator(seed: 24)
    for (shape, permutation) in [
      ([2, 2, 3, 4, 5], [1, 0, 2, 3]),  // channel shuffle's (g, C/g, H, W)
      ([2, 3, 4, 5], [2, 0, 1]),
      ([3, 4, 1, 5], [0, 1, 2]),
      ([2, 6], [0]),
    ] {
      let x = GradientCheck.randomTensor(Shape(shape), &generator)
      var op = Transpose(permutation: permutation)
      let y = try op.forward(x, mode: .training)
      XCTAssertEqual(y, StridedReference.transposed(x, axes: [0] + permutation.map { $0 + 1 }))
      XCTAssertEqual(try op.backward(y), x)
      try GradientCheck.check(Transpose(permutation: permutation), input: x)
    }
    // (2, 3) → (3, 2), by hand.
    var op = Transpose(permutation: [1, 0])
    let y = try op.forward(
      Tensor(shape: Shape(1, 2, 3), storage: [1, 2, 3, 4, 5, 6]), mode: .inference)
    XCTAssertEqual(y.shape, Shape(1, 3, 2))
    XCTAssertEqual(y.storage, [1, 4, 2, 5, 3, 6])
  }

  /// ShuffleNet's channel shuffle with 2 groups of 3 channels: channels
  /// 0 1 2 | 3 4 5 come out 0 3 1 4 2 5.
  func testChannelShuffleByHand() throws {
    var network = Network(
      try Graph(
        input: "x", shape: Shape(6, 1, 2),
        nodes: [
          Graph.Node("split", Reshape(to: Shape(2, 3, 1, 2)), inputs: ["x"]),
          Graph.Node("swap", Transpose(permutation: [1, 0, 2, 3]), inputs: ["split"]),
          Graph.Node("join", Reshape(to: Shape(6, 1, 2)), inputs: ["swap"]),
        ],
        output: "join"))
    let x = Tensor(shape: Shape(1, 6, 1, 2), storage: (0..<12).map(Float.init))
    let y = try network.forward(x, mode: .inference)
    XCTAssertEqual(y.shape, Shape(1, 6, 1, 2))
    XCTAssertEqual(y.storage, [0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11])
    var generator = SeededGenerator(seed: 25)
    try GradientCheck.check(network, input: GradientCheck.randomTensor(x.shape, &generator))
    XCTAssertThrowsError(try Reshape(to: Shape(5)).outputShape(for: Shape(2, 3)))
  }

  func testPadBordersByHand() throws {
    let x = Tensor(shape: Shape(1, 1, 3), storage: [1, 2, 3])
    func run(_ border: Pad.Border, _ before: Int, _ after: Int) throws -> [Float] {
      var op = Pad(before: [0, before], after: [0, after], border: border)
      return try op.forward(x, mode: .inference).storage
    }
    XCTAssertEqual(try run(.constant(0), 2, 1), [0, 0, 1, 2, 3, 0])
    XCTAssertEqual(try run(.constant(-5), 0, 2), [1, 2, 3, -5, -5])
    XCTAssertEqual(try run(.reflect, 2, 2), [3, 2, 1, 2, 3, 2, 1])
    XCTAssertEqual(try run(.edge, 2, 1), [1, 1, 1, 2, 3, 3])
    XCTAssertEqual(try run(.wrap, 2, 1), [2, 3, 1, 2, 3, 1])
    XCTAssertEqual(try run(.constant(0), -1, 0), [2, 3])
    XCTAssertThrowsError(
      try Pad(before: [3], after: [0], border: .reflect).outputShape(for: Shape(3)))
    // Backward: each output's gradient goes to the cell it read.
    var reflect = Pad(before: [0, 2], after: [0, 0], border: .reflect)
    _ = try reflect.forward(x, mode: .training)
    let dx = try reflect.backward(
      Tensor(shape: Shape(1, 1, 5), storage: [1, 10, 100, 1000, 10000]))
    // Output cells read x[2], x[1], x[0], x[1], x[2].
    XCTAssertEqual(dx.storage, [100, 1010, 10001])
  }

  func testPadGradientChecks() throws {
    var generator = SeededGenerator(seed: 26)
    let x = GradientCheck.randomTensor(Shape(2, 2, 3, 4), &generator)
    for border in [Pad.Border.constant(0.5), .reflect, .edge, .wrap] {
      try GradientCheck.check(
        Pad(before: [0, 1, 2], after: [1, 2, -1], border: border), input: x)
    }
  }

  func testSoftmaxOverAxes() throws {
    var generator = SeededGenerator(seed: 27)
    let x = GradientCheck.randomTensor(Shape(2, 3, 4), &generator, scale: 3)
    // Over the last axis: the flat softmax of each row.
    var rows = Softmax(axes: 1..<2)
    var flat = Activation(.softmax)
    XCTAssertEqual(
      try rows.forward(x, mode: .inference).storage,
      try flat.forward(x.reshaped(Shape(6, 4)), mode: .inference).storage)
    // Over axis 0 of (3, 4): each column of 3 sums to 1.
    var columns = Softmax(axes: 0..<1)
    let y = try columns.forward(x, mode: .inference)
    for n in 0..<2 {
      for j in 0..<4 {
        let sum = (0..<3).reduce(Float(0)) { $0 + y.storage[n * 12 + $1 * 4 + j] }
        XCTAssertEqual(sum, 1, accuracy: 1e-6)
      }
    }
    // Over both axes (opset < 13's coerced softmax): the flat softmax of the sample.
    var both = Softmax(axes: 0..<2)
    XCTAssertEqual(
      try both.forward(x, mode: .inference).storage,
      try flat.forward(x.reshaped(Shape(2, 12)), mode: .inference).storage)
    for axes in [0..<1, 1..<2, 0..<2] {
      try GradientCheck.check(Softmax(axes: axes), input: x)
    }
  }

  func testConcatenateAlongOtherAxes() throws {
    var op = Concatenate(axis: 1)
    let a = Tensor(shape: Shape(1, 2, 1), storage: [1, 2])
    let b = Tensor(shape: Shape(1, 2, 2), storage: [3, 4, 5, 6])
    XCTAssertEqual(try op.outputShape(for: [Shape(2, 1), Shape(2, 2)]), Shape(2, 3))
    XCTAssertEqual(try op.forward([a, b], mode: .training).storage, [1, 3, 4, 2, 5, 6])
    let d = try op.backward(
      Tensor(shape: Shape(1, 2, 3), storage: [1, 2, 3, 4, 5, 6]), needsInputGradients: [true, true])
    XCTAssertEqual(d[0]?.storage, [1, 4])
    XCTAssertEqual(d[1]?.storage, [2, 3, 5, 6])
    XCTAssertThrowsError(try op.outputShape(for: [Shape(2, 1), Shape(3, 2)]))
    var generator = SeededGenerator(seed: 28)
    let network = Network(
      try Graph(
        input: "x", shape: Shape(2, 3),
        nodes: [
          Graph.Node("t", Transpose(permutation: [1, 0]), inputs: ["x"]),
          Graph.Node("r", Reshape(to: Shape(2, 3)), inputs: ["t"]),
          Graph.Node("join", Concatenate(axis: 1), inputs: ["x", "r"]),
        ],
        output: "join"))
    try GradientCheck.check(network, input: GradientCheck.randomTensor(Shape(2, 2, 3), &generator))
  }

  /// A constant joined with computed tensors: repeated for every sample
  /// (batch axis 1) or taken per sample (batch axis N); no gradient.
  func testConstantTensorPerSample() throws {
    var shared = ConstantTensor(Tensor(shape: Shape(1, 2), storage: [7, 8]))
    XCTAssertEqual(try shared.outputShape(for: Shape(5)), Shape(2))
    let x = Tensor(zeros: Shape(3, 5))
    XCTAssertEqual(try shared.forward(x, mode: .training).storage, [7, 8, 7, 8, 7, 8])
    XCTAssertEqual(try shared.backward(Tensor(zeros: Shape(3, 2))), Tensor(zeros: Shape(3, 5)))
    var perSample = ConstantTensor(Tensor(shape: Shape(3, 1), storage: [1, 2, 3]))
    XCTAssertEqual(try perSample.forward(x, mode: .inference).storage, [1, 2, 3])
    XCTAssertThrowsError(try perSample.forward(Tensor(zeros: Shape(2, 5)), mode: .inference))
  }
}
