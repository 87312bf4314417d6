import Engine
import Tensors
import XCTest
import _Runtime

/// Grouped, depthwise and dilated convolutions (imported models): the C
/// path against the reference, a hand-worked case, and gradient checks.
final class GroupedConv2DTests: XCTestCase {
  typealias Case = ConvolutionCase

  static let cases: [Case] = [
    // Depthwise (MobileNet), stride 1 and 2, and a channel multiplier of 2.
    Case(
      n: 2, cin: 4, h: 9, w: 8, cout: 4, kh: 3, kw: 3, sy: 1, sx: 1, groups: 4, dy: 1, dx: 1,
      padding: .symmetric(1)),
    Case(
      n: 3, cin: 6, h: 11, w: 10, cout: 6, kh: 3, kw: 3, sy: 2, sx: 2, groups: 6, dy: 1, dx: 1,
      padding: .symmetric(1)),
    Case(
      n: 1, cin: 3, h: 7, w: 9, cout: 6, kh: 5, kw: 3, sy: 1, sx: 2, groups: 3, dy: 1, dx: 1,
      padding: .explicit(top: 2, bottom: 1, left: 0, right: 3)),
    // Groups with several channels each (ResNeXt, ShuffleNet).
    Case(
      n: 2, cin: 8, h: 6, w: 7, cout: 4, kh: 3, kw: 3, sy: 1, sx: 1, groups: 2, dy: 1, dx: 1,
      padding: .same),
    Case(
      n: 3, cin: 6, h: 8, w: 8, cout: 9, kh: 1, kw: 1, sy: 2, sx: 1, groups: 3, dy: 1, dx: 1,
      padding: .valid),
    // Dilations, ungrouped and grouped, with asymmetric padding.
    Case(
      n: 2, cin: 3, h: 10, w: 9, cout: 5, kh: 3, kw: 3, sy: 1, sx: 1, groups: 1, dy: 2, dx: 2,
      padding: .symmetric(2)),
    Case(
      n: 1, cin: 2, h: 12, w: 11, cout: 4, kh: 3, kw: 2, sy: 2, sx: 3, groups: 1, dy: 3, dx: 2,
      padding: .explicit(top: 1, bottom: 0, left: 2, right: 1)),
    Case(
      n: 2, cin: 4, h: 9, w: 9, cout: 8, kh: 3, kw: 3, sy: 1, sx: 1, groups: 4, dy: 2, dx: 1,
      padding: .same),
    Case(
      n: 2, cin: 4, h: 9, w: 9, cout: 4, kh: 3, kw: 3, sy: 1, sx: 1, groups: 2, dy: 2, dx: 3,
      padding: .valid),
    // Large enough that the GEMM path works in several bands of rows.
    Case(
      n: 1, cin: 32, h: 40, w: 40, cout: 4, kh: 3, kw: 3, sy: 1, sx: 1, groups: 2, dy: 2, dx: 2,
      padding: .same),
  ]

  func testMatchesReference() throws {
    var generator = SeededGenerator(seed: 21)
    for c in Self.cases {
      for relu in [false, true] {
        let (input, kernel, bias) = c.randomTensors(&generator)
        var conv = c.layer(kernel: kernel, bias: bias)
        XCTAssertEqual(conv.inputChannels, c.cin)
        let (output, folded) = try conv.forward(
          [input], mode: .training, folding: relu ? [.relu] : [])
        XCTAssertEqual(folded, relu ? 1 : 0)
        let linear = conv2dForwardReference(
          input: input, kernel: kernel, bias: bias, strides: (c.sy, c.sx), padding: c.padding,
          groups: c.groups, dilations: (c.dy, c.dx))
        let expected =
          relu ? Tensor(shape: linear.shape, storage: linear.storage.map { max($0, 0) }) : linear
        XCTAssertEqual(output.shape, expected.shape, "\(c)")
        XCTAssertEqual(
          try conv.outputShape(for: input.sampleShape), expected.sampleShape, "\(c)")
        XCTAssertLessThan(output.maxAbsoluteDifference(to: expected), 1e-4, "forward \(c)")

        let dOutput = GradientCheck.randomTensor(output.shape, &generator)
        let masked = Tensor(
          shape: dOutput.shape,
          storage: zip(dOutput.storage, output.storage).map { !relu || $1 > 0 ? $0 : 0 })
        let dInput = try conv.backward(dOutput)
        let reference = conv2dBackwardReference(
          input: input, kernel: kernel, dOutput: masked, strides: (c.sy, c.sx),
          padding: c.padding, groups: c.groups, dilations: (c.dy, c.dx))
        XCTAssertLessThan(dInput.maxAbsoluteDifference(to: reference.dInput), 1e-4, "dX \(c)")
        XCTAssertLessThan(
          conv.kernel.grad.maxAbsoluteDifference(to: reference.dKernel), 1e-3, "dK \(c)")
        XCTAssertLessThan(
          conv.bias.grad.maxAbsoluteDifference(to: reference.dBias), 1e-3, "dB \(c)")
        var first = c.layer(kernel: kernel, bias: bias)
        _ = try first.forward([input], mode: .training, folding: relu ? [.relu] : [])
        try first.backwardParametersOnly(dOutput)
        XCTAssertEqual(first.kernel.grad.storage, conv.kernel.grad.storage, "dK only \(c)")
      }
    }
  }

  /// Worked by hand: a depthwise 2×2 of ones per channel, the second
  /// channel scaled by 10, and a dilated 1-channel kernel reading corners.
  func testHandWorked() throws {
    let input = Tensor(
      shape: Shape(1, 2, 3, 3), storage: (1...9).map(Float.init) + (1...9).map { Float($0) * 10 })
    var depthwise = Conv2D(
      kernel: Tensor(shape: Shape(2, 2, 1, 2), storage: [1, 1, 1, 1, 1, 1, 1, 1]),
      bias: Tensor(shape: Shape(2), storage: [0, 1]), groups: 2)
    XCTAssertEqual(
      try depthwise.forward(input, mode: .inference).storage,
      [12, 16, 24, 28, 121, 161, 241, 281])
    let plane = Tensor(shape: Shape(1, 1, 3, 3), storage: (1...9).map(Float.init))
    var dilated = Conv2D(
      kernel: Tensor(shape: Shape(2, 2, 1, 1), storage: [1, 1, 1, 1]),
      bias: Tensor(zeros: Shape(1)), dilations: (2, 2))
    // 1 + 3 + 7 + 9: the four corners of the 3×3 plane.
    XCTAssertEqual(try dilated.forward(plane, mode: .inference).storage, [20])
  }

  /// A dilated window must fit: a 3×3 kernel at dilation 3 spans 7 cells.
  func testDilatedWindowLargerThanInputIsRefused() {
    let conv = Conv2D(
      kernel: Tensor(zeros: Shape(3, 3, 1, 1)), bias: Tensor(zeros: Shape(1)), dilations: (3, 3))
    XCTAssertNoThrow(try conv.outputShape(for: Shape(1, 7, 7)))
    XCTAssertThrowsError(try conv.outputShape(for: Shape(1, 6, 7)))
  }

  func testGradientCheck() throws {
    var generator = SeededGenerator(seed: 23)
    for c in [Self.cases[1], Self.cases[2], Self.cases[3], Self.cases[6]] {
      let conv = c.layer(
        kernel: GradientCheck.randomTensor(Shape(c.kh, c.kw, c.cin / c.groups, c.cout), &generator),
        bias: GradientCheck.randomTensor(Shape(c.cout), &generator))
      try GradientCheck.check(
        conv, input: GradientCheck.randomTensor(Shape(1, c.cin, c.h, c.w), &generator))
    }
  }
}

extension GroupedConv2DTests {
  /// A grouped convolution before ReLU and max pooling folds the ReLU only
  /// (the pooled direct path is for ungrouped layers); the network still
  /// equals the three layers run one after the other.
  func testNetworkWithReLUAndPoolingAfterAGroupedConv() throws {
    var generator = SeededGenerator(seed: 24)
    let conv = Conv2D(
      kernel: GradientCheck.randomTensor(Shape(3, 3, 1, 8), &generator),
      bias: GradientCheck.randomTensor(Shape(8), &generator), padding: .same, groups: 8)
    var network = Network(
      inputShape: Shape(8, 6, 6), layers: [conv, Activation(.relu), Pooling2D(.max)])
    XCTAssertEqual(network.inferencePlan.steps.count, 1)
    let input = GradientCheck.randomTensor(Shape(3, 8, 6, 6), &generator)
    var separate = [conv, Activation(.relu), Pooling2D(.max)] as [any Layer]
    var expected = input
    for k in separate.indices { expected = try separate[k].forward(expected, mode: .training) }
    let output = try network.forward(input, mode: .training)
    XCTAssertEqual(output.storage, expected.storage)
    let dOutput = GradientCheck.randomTensor(output.shape, &generator)
    let dInput = try XCTUnwrap(network.backward(dOutput, inputGradient: true))
    var dExpected = dOutput
    for k in separate.indices.reversed() { dExpected = try separate[k].backward(dExpected) }
    XCTAssertLessThan(dInput.maxAbsoluteDifference(to: dExpected), 1e-6)
  }
}

extension GroupedConv2DTests {
  /// Outputs and every gradient are the same bits on 1, 2 or 5 threads:
  /// the work items and the per-chunk weight-gradient sums depend on the
  /// shapes alone.
  func testResultsDoNotDependOnTheThreadCount() throws {
    defer { cvz_set_threads(0) }
    var generator = SeededGenerator(seed: 25)
    for c in [Self.cases[1], Self.cases[3], Self.cases[7], Self.cases[9]] {
      let (input, kernel, bias) = c.randomTensors(&generator)
      var results: [[[Float]]] = []
      for threads in [1, 2, 5] {
        cvz_set_threads(Int32(threads))
        var conv = c.layer(kernel: kernel, bias: bias)
        let output = try conv.forward(input, mode: .training)
        var seeded = SeededGenerator(seed: 26)
        let dInput = try conv.backward(GradientCheck.randomTensor(output.shape, &seeded))
        results.append([
          output.storage, dInput.storage, conv.kernel.grad.storage, conv.bias.grad.storage,
        ])
      }
      XCTAssertEqual(results[1], results[0], "\(c)")
      XCTAssertEqual(results[2], results[0], "\(c)")
    }
  }
}
