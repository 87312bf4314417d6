import Engine
import Tensors
import XCTest

final class Conv2DTests: XCTestCase {
  private func handLayer(strides: (Int, Int) = (1, 1), padding: Padding) -> Conv2D {
    Conv2D(
      kernel: Tensor(shape: Shape(2, 2, 1, 1), storage: [1, 2, 3, 4]),
      bias: Tensor(shape: Shape(1), storage: [0.5]), strides: strides, padding: padding)
  }

  private let nine = Tensor(shape: Shape(1, 1, 3, 3), storage: (1...9).map(Float.init))

  func testOutputShapes() throws {
    var generator = SeededGenerator(seed: 1)
    let valid = Conv2D(inputChannels: 3, filters: 8, kernelSize: (3, 3), generator: &generator)
    XCTAssertEqual(try valid.outputShape(for: Shape(3, 28, 28)), Shape(8, 26, 26))
    let same = Conv2D(
      inputChannels: 3, filters: 8, kernelSize: (3, 3), strides: (2, 2), padding: .same,
      generator: &generator)
    XCTAssertEqual(try same.outputShape(for: Shape(3, 7, 8)), Shape(8, 4, 4))
    XCTAssertThrowsError(try valid.outputShape(for: Shape(3, 2, 8))) {
      XCTAssertEqual(
        $0 as? EngineError,
        .windowLargerThanInput(windowHeight: 3, windowWidth: 3, inputHeight: 2, inputWidth: 8))
    }
    XCTAssertThrowsError(try valid.outputShape(for: Shape(1, 28, 28)))
    XCTAssertEqual(valid.kernel.value.shape, Shape(3, 3, 3, 8))
    XCTAssertEqual(valid.bias.value.shape, Shape(8))
  }

  func testHandWorkedValid() {
    var layer = handLayer(padding: .valid)
    // y[i,j] = x[i,j]·1 + x[i,j+1]·2 + x[i+1,j]·3 + x[i+1,j+1]·4 + 0.5
    XCTAssertEqual(try layer.forward(nine, mode: .inference).storage, [37.5, 47.5, 67.5, 77.5])
  }

  func testHandWorkedSamePadsBottomRight() {
    var layer = handLayer(padding: .same)
    // TensorFlow 'same' with k=2: the single padding row/column is after the data.
    XCTAssertEqual(
      try layer.forward(nine, mode: .inference).storage,
      [37.5, 47.5, 21.5, 67.5, 77.5, 33.5, 23.5, 26.5, 9.5])
    var strided = handLayer(strides: (2, 2), padding: .same)
    XCTAssertEqual(try strided.forward(nine, mode: .inference).storage, [37.5, 21.5, 23.5, 9.5])
  }

  func testGlorotInitializationBoundsAndZeroBias() {
    var generator = SeededGenerator(seed: 3)
    let layer = Conv2D(inputChannels: 32, filters: 32, kernelSize: (3, 3), generator: &generator)
    let limit = Float((6.0 / Double(9 * 32 + 9 * 32)).squareRoot())
    XCTAssert(layer.kernel.value.storage.allSatisfy { abs($0) <= limit })
    XCTAssertGreaterThan(layer.kernel.value.storage.map(abs).max()!, limit * 0.95)
    XCTAssert(layer.bias.value.storage.allSatisfy { $0 == 0 })
  }

  struct Case {
    var n, cin, h, w, cout, kh, kw, sy, sx: Int
    var padding: Padding
  }

  static let cases: [Case] = [
    Case(n: 2, cin: 1, h: 8, w: 8, cout: 4, kh: 3, kw: 3, sy: 1, sx: 1, padding: .valid),
    Case(n: 3, cin: 3, h: 7, w: 9, cout: 5, kh: 3, kw: 3, sy: 1, sx: 1, padding: .same),
    Case(n: 2, cin: 4, h: 9, w: 8, cout: 3, kh: 3, kw: 2, sy: 2, sx: 2, padding: .valid),
    Case(n: 1, cin: 2, h: 8, w: 7, cout: 6, kh: 3, kw: 3, sy: 2, sx: 1, padding: .same),
    Case(n: 3, cin: 5, h: 6, w: 6, cout: 2, kh: 2, kw: 2, sy: 1, sx: 1, padding: .same),
    Case(n: 2, cin: 3, h: 5, w: 5, cout: 4, kh: 1, kw: 1, sy: 1, sx: 1, padding: .valid),
    Case(n: 2, cin: 2, h: 11, w: 10, cout: 3, kh: 5, kw: 5, sy: 3, sx: 3, padding: .same),
    // Large enough that the im2col path works in several bands of rows.
    Case(n: 2, cin: 16, h: 40, w: 40, cout: 8, kh: 3, kw: 3, sy: 1, sx: 1, padding: .same),
    // Channel counts that are multiples of 8 take the direct AVX2 path (when
    // the CPU has it): partial 8-lane blocks, pixel tails, batch 1 split by rows.
    Case(n: 1, cin: 8, h: 9, w: 11, cout: 24, kh: 3, kw: 3, sy: 1, sx: 1, padding: .same),
    Case(n: 3, cin: 16, h: 10, w: 13, cout: 40, kh: 3, kw: 3, sy: 1, sx: 1, padding: .valid),
    Case(n: 2, cin: 3, h: 11, w: 9, cout: 16, kh: 3, kw: 3, sy: 2, sx: 2, padding: .same),
    Case(n: 2, cin: 1, h: 12, w: 12, cout: 32, kh: 3, kw: 3, sy: 1, sx: 1, padding: .valid),
    Case(n: 3, cin: 1, h: 9, w: 10, cout: 16, kh: 3, kw: 3, sy: 1, sx: 1, padding: .same),
    Case(n: 2, cin: 1, h: 7, w: 9, cout: 8, kh: 2, kw: 2, sy: 1, sx: 1, padding: .same),
    Case(n: 1, cin: 8, h: 8, w: 8, cout: 8, kh: 2, kw: 2, sy: 1, sx: 1, padding: .same),
    Case(n: 1, cin: 8, h: 7, w: 7, cout: 16, kh: 5, kw: 5, sy: 1, sx: 1, padding: .same),
    Case(n: 4, cin: 32, h: 8, w: 8, cout: 32, kh: 3, kw: 3, sy: 1, sx: 1, padding: .valid),
    // Explicit and asymmetric padding (ONNX `pads`), on both paths.
    Case(n: 2, cin: 3, h: 7, w: 6, cout: 4, kh: 3, kw: 3, sy: 1, sx: 1, padding: .symmetric(1)),
    Case(
      n: 2, cin: 8, h: 9, w: 8, cout: 16, kh: 3, kw: 3, sy: 2, sx: 1,
      padding: .explicit(top: 2, bottom: 0, left: 1, right: 2)),
    Case(
      n: 1, cin: 2, h: 5, w: 5, cout: 3, kh: 2, kw: 3, sy: 1, sx: 2,
      padding: .explicit(top: 0, bottom: 1, left: 0, right: 3)),
  ]

  /// The layer's input, kernel and bias gradients against the reference's.
  private func assertGradients(
    of layer: Conv2D, dInput: Tensor,
    match reference: (dInput: Tensor, dKernel: Tensor, dBias: Tensor), _ label: String,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertLessThan(
      dInput.maxAbsoluteDifference(to: reference.dInput), 1e-4, "dInput \(label)", file: file,
      line: line)
    XCTAssertLessThan(
      layer.kernel.grad.maxAbsoluteDifference(to: reference.dKernel), 1e-3, "dKernel \(label)",
      file: file, line: line)
    XCTAssertLessThan(
      layer.bias.grad.maxAbsoluteDifference(to: reference.dBias), 1e-3, "dBias \(label)",
      file: file, line: line)
  }

  func testFastPathMatchesReference() throws {
    var generator = SeededGenerator(seed: 11)
    for c in Self.cases {
      let input = GradientCheck.randomTensor(Shape(c.n, c.cin, c.h, c.w), &generator)
      let kernel = GradientCheck.randomTensor(Shape(c.kh, c.kw, c.cin, c.cout), &generator)
      let bias = GradientCheck.randomTensor(Shape(c.cout), &generator)
      var layer = Conv2D(kernel: kernel, bias: bias, strides: (c.sy, c.sx), padding: c.padding)
      let output = try layer.forward(input, mode: .training)
      let expected = conv2dForwardReference(
        input: input, kernel: kernel, bias: bias, strides: (c.sy, c.sx), padding: c.padding)
      XCTAssertEqual(output.shape, expected.shape, "\(c)")
      XCTAssertLessThan(output.maxAbsoluteDifference(to: expected), 1e-4, "forward \(c)")

      let dOutput = GradientCheck.randomTensor(output.shape, &generator)
      let dInput = try layer.backward(dOutput)
      let reference = conv2dBackwardReference(
        input: input, kernel: kernel, dOutput: dOutput, strides: (c.sy, c.sx), padding: c.padding)
      assertGradients(of: layer, dInput: dInput, match: reference, "\(c)")

      // The first layer of a model skips dInput, which may take another path.
      var first = Conv2D(kernel: kernel, bias: bias, strides: (c.sy, c.sx), padding: c.padding)
      _ = try first.forward(input, mode: .training)
      try first.backwardParametersOnly(dOutput)
      XCTAssertLessThan(
        first.kernel.grad.maxAbsoluteDifference(to: reference.dKernel), 1e-3, "dKernel only \(c)")
      XCTAssertLessThan(
        first.bias.grad.maxAbsoluteDifference(to: reference.dBias), 1e-3, "dBias only \(c)")
    }
  }

  /// The fused ReLU (mask applied while the fast path builds its padded
  /// dY) against the reference convolution followed by a plain ReLU.
  func testFusedReLUFastPathMatchesReference() throws {
    var generator = SeededGenerator(seed: 12)
    for c in Self.cases {
      let input = GradientCheck.randomTensor(Shape(c.n, c.cin, c.h, c.w), &generator)
      let kernel = GradientCheck.randomTensor(Shape(c.kh, c.kw, c.cin, c.cout), &generator)
      let bias = GradientCheck.randomTensor(Shape(c.cout), &generator)
      var layer = Conv2D(kernel: kernel, bias: bias, strides: (c.sy, c.sx), padding: c.padding)
      let (output, folded) = try layer.forward([input], mode: .training, folding: [.relu])
      XCTAssertEqual(folded, 1, "a ReLU always folds")
      let linear = conv2dForwardReference(
        input: input, kernel: kernel, bias: bias, strides: (c.sy, c.sx), padding: c.padding)
      let expected = Tensor(shape: linear.shape, storage: linear.storage.map { max($0, 0) })
      XCTAssertLessThan(output.maxAbsoluteDifference(to: expected), 1e-4, "forward \(c)")

      let dOutput = GradientCheck.randomTensor(output.shape, &generator)
      let masked = Tensor(
        shape: dOutput.shape,
        storage: zip(dOutput.storage, output.storage).map { $1 > 0 ? $0 : 0 })
      let dInput = try layer.backward(dOutput)
      let reference = conv2dBackwardReference(
        input: input, kernel: kernel, dOutput: masked, strides: (c.sy, c.sx), padding: c.padding)
      assertGradients(of: layer, dInput: dInput, match: reference, "\(c)")
    }
  }

  func testBackwardAccumulatesIntoGradients() throws {
    var generator = SeededGenerator(seed: 5)
    var layer = Conv2D(inputChannels: 2, filters: 3, kernelSize: (3, 3), generator: &generator)
    let input = GradientCheck.randomTensor(Shape(2, 2, 5, 5), &generator)
    let dOutput = GradientCheck.randomTensor(Shape(2, 3, 3, 3), &generator)
    _ = try layer.forward(input, mode: .training)
    _ = try layer.backward(dOutput)
    let once = layer.kernel.grad
    _ = try layer.forward(input, mode: .training)
    try layer.backwardParametersOnly(dOutput)
    var twice = once
    twice += once
    XCTAssertLessThan(layer.kernel.grad.maxAbsoluteDifference(to: twice), 1e-5)
  }

  func testGradientCheck() throws {
    var generator = SeededGenerator(seed: 8)
    for (strides, padding) in [((1, 1), Padding.valid), ((2, 2), .same), ((1, 2), .same)] {
      let layer = Conv2D(
        inputChannels: 2, filters: 3, kernelSize: (3, 3), strides: strides, padding: padding,
        generator: &generator)
      try GradientCheck.check(
        layer, input: GradientCheck.randomTensor(Shape(2, 2, 6, 5), &generator))
    }
  }

  /// A network's Conv2D + activation (folded for ReLU, two steps for the
  /// others) against the two layers run one after the other.
  func testFusedActivationsMatchSeparateLayers() throws {
    var generator = SeededGenerator(seed: 17)
    let input = GradientCheck.randomTensor(Shape(3, 2, 7, 6), &generator)
    for function in [Activation.Function.relu, .tanh, .sigmoid] {
      let kernel = GradientCheck.randomTensor(Shape(3, 3, 2, 4), &generator)
      let bias = GradientCheck.randomTensor(Shape(4), &generator)
      var network = Network(
        inputShape: Shape(2, 7, 6),
        layers: [Conv2D(kernel: kernel, bias: bias, padding: .same), Activation(function)])
      XCTAssertEqual(network.inferencePlan.steps.count, function == .relu ? 1 : 2, "\(function)")
      var plain = Conv2D(kernel: kernel, bias: bias, padding: .same)
      var separate = Activation(function)
      let y = try network.forward(input, mode: .training)
      let expected = try separate.forward(plain.forward(input, mode: .training), mode: .training)
      XCTAssertLessThan(y.maxAbsoluteDifference(to: expected), 1e-6, "\(function)")
      let dOutput = GradientCheck.randomTensor(y.shape, &generator)
      let dInput = try XCTUnwrap(network.backward(dOutput, inputGradient: true))
      let dExpected = try plain.backward(separate.backward(dOutput))
      XCTAssertLessThan(dInput.maxAbsoluteDifference(to: dExpected), 1e-5, "\(function)")
      var gradients: [Tensor] = []
      network.forEachParameter { gradients.append($0.grad) }
      XCTAssertLessThan(gradients[0].maxAbsoluteDifference(to: plain.kernel.grad), 1e-5)
      XCTAssertLessThan(gradients[1].maxAbsoluteDifference(to: plain.bias.grad), 1e-5)
    }
  }

  func testGradientCheckWithFusedReLU() throws {
    // A difference quotient across the ReLU kink is meaningless, so pick a
    // case whose pre-activations all stay at least 0.3 from zero (both signs).
    var generator = SeededGenerator(seed: 18)
    for _ in 0..<1000 {
      let input = GradientCheck.randomTensor(Shape(1, 2, 4, 4), &generator)
      let layer = Conv2D(
        inputChannels: 2, filters: 2, kernelSize: (3, 3), generator: &generator)
      let network = Network(inputShape: Shape(2, 4, 4), layers: [layer, Activation(.relu)])
      XCTAssertEqual(network.inferencePlan.steps.map(\.stages), [[.relu]])
      let pre = conv2dForwardReference(
        input: input, kernel: layer.kernel.value, bias: layer.bias.value, strides: (1, 1),
        padding: .valid)
      guard pre.storage.allSatisfy({ abs($0) > 0.3 }), pre.storage.contains(where: { $0 < 0 }),
        pre.storage.contains(where: { $0 > 0 })
      else { continue }
      try GradientCheck.check(network, input: input, epsilon: 1e-3)
      return
    }
    XCTFail("no kink-free case found")
  }
}
