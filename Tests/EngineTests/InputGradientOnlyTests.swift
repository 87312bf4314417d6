import Tensors
import XCTest

@testable import Engine

/// Backward without parameter gradients (`needsParameterGradients: false`,
/// as explanations ask): the input gradient has the same bits as the full
/// backward's, and no parameter gradient is made or changed.
final class InputGradientOnlyTests: XCTestCase {
  /// Runs `op` forward on `input` in `mode` (folding `stages`), then
  /// backward twice from copies, with and without parameter gradients, and
  /// checks the two input gradients bit for bit and that the second leaves
  /// every gradient unmade.
  private func checkInputGradientOnly(
    _ op: some Engine.Operation, input: Tensor, stages: [FusionRole] = [],
    mode: Mode = .inferenceWithGradients, seed: UInt64,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    var forwarded = op
    let output = try forwarded.forward([input], mode: mode, folding: stages).output
    var g = SeededGenerator(seed: seed)
    let dOutput = GradientCheck.randomTensor(output.shape, &g)

    var full = forwarded
    let expected = try full.backward(
      dOutput, needsInputGradients: [true], needsParameterGradients: true)[0]
    var made = 0
    full.forEachParameter { if $0.accumulated != nil { made += 1 } }
    XCTAssertGreaterThan(made, 0, "the full backward writes parameter gradients", line: line)

    var inputOnly = forwarded
    let dInput = try inputOnly.backward(
      dOutput, needsInputGradients: [true], needsParameterGradients: false)[0]
    XCTAssertEqual(dInput?.shape, expected?.shape, file: file, line: line)
    XCTAssertEqual(dInput?.storage, expected?.storage, "same bits", file: file, line: line)
    inputOnly.forEachParameter {
      XCTAssertNil($0.accumulated, "\($0.name) gradient made", file: file, line: line)
    }
  }

  private func conv(
    _ cin: Int, _ filters: Int, kernel: Int = 3, strides: (Int, Int) = (1, 1),
    padding: Padding = .same, groups: Int = 1, dilations: (Int, Int) = (1, 1), seed: UInt64
  ) -> Conv2D {
    var g = SeededGenerator(seed: seed)
    return Conv2D(
      kernel: GradientCheck.randomTensor(Shape(kernel, kernel, cin / groups, filters), &g),
      bias: GradientCheck.randomTensor(Shape(filters), &g), strides: strides, padding: padding,
      groups: groups, dilations: dilations)
  }

  private func input(_ shape: Shape, seed: UInt64) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return GradientCheck.randomTensor(shape, &g)
  }

  /// im2col + GEMM: channel counts off the direct kernels' multiples of 8,
  /// stride 1 (the full correlation) and stride 2 (col2im).
  func testGEMMPath() throws {
    for strides in [(1, 1), (2, 2)] {
      try checkInputGradientOnly(
        conv(3, 5, strides: strides, seed: 1), input: input(Shape(2, 3, 9, 10), seed: 2),
        seed: 3)
      try checkInputGradientOnly(
        conv(3, 5, strides: strides, seed: 1), input: input(Shape(2, 3, 9, 10), seed: 2),
        stages: [.relu], seed: 3)
    }
  }

  /// The direct AVX2 kernels (8-channel multiples): whole images per chunk
  /// (batch 2) and one image split by rows (batch 1), with and without the
  /// forward's saved input copy (training keeps one), with a folded ReLU.
  func testDirectPath() throws {
    for batch in [1, 2] {
      for mode in [Mode.inferenceWithGradients, .training] {
        try checkInputGradientOnly(
          conv(8, 16, seed: 4), input: input(Shape(batch, 8, 11, 9), seed: 5), stages: [.relu],
          mode: mode, seed: 6)
      }
    }
  }

  /// Convolution with max pooling folded in (the direct path's pooled
  /// backward, which works from the pooling's winners).
  func testFoldedMaxPooling() throws {
    let window = PoolWindow(size: (2, 2), strides: (2, 2))
    for stages in [[FusionRole.relu, .maxPooling(window)], [.maxPooling(window)]] {
      try checkInputGradientOnly(
        conv(8, 16, seed: 7), input: input(Shape(3, 8, 10, 10), seed: 8), stages: stages,
        seed: 9)
    }
  }

  /// Grouped, depthwise and dilated convolutions.
  func testGroupedAndDilated() throws {
    let x = input(Shape(2, 4, 9, 9), seed: 10)
    try checkInputGradientOnly(conv(4, 6, groups: 2, seed: 11), input: x, seed: 12)
    try checkInputGradientOnly(conv(4, 8, groups: 4, seed: 13), input: x, seed: 14)
    try checkInputGradientOnly(
      conv(4, 8, strides: (2, 2), groups: 4, seed: 13), input: x, stages: [.relu], seed: 14)
    try checkInputGradientOnly(conv(4, 5, dilations: (2, 2), seed: 15), input: x, seed: 16)
  }

  /// A convolution whose inference forward ran on oneDNN keeps no input
  /// copy; backward runs on the kernels from the cached input.
  func testAfterOneDNNForward() throws {
    try XCTSkipUnless(OneDNN.isUsable, "oneDNN is not usable here")
    OneDNN.leavesSmallConvolutionsToKernels = false
    defer { OneDNN.leavesSmallConvolutionsToKernels = true }
    try checkInputGradientOnly(
      conv(8, 16, seed: 17), input: input(Shape(2, 8, 12, 12), seed: 18), stages: [.relu],
      seed: 19)
  }

  func testDenseAndArithmeticConstant() throws {
    var g = SeededGenerator(seed: 20)
    let dense = Dense(inputFeatures: 7, units: 4, generator: &g)
    try checkInputGradientOnly(dense, input: input(Shape(3, 7), seed: 21), seed: 22)
    let scale = Arithmetic(.multiply, constant: GradientCheck.randomTensor(Shape(7), &g))
    try checkInputGradientOnly(scale, input: input(Shape(3, 7), seed: 23), seed: 24)
  }

  /// The network's gradient passes: the input gradient (and a kept
  /// tensor's) bit for bit, and no parameter of any node gets a gradient.
  func testNetworkGradientsWithoutParameterGradients() throws {
    var g = SeededGenerator(seed: 25)
    let network = Network(
      inputShape: Shape(8, 10, 10),
      layers: [
        Conv2D(inputChannels: 8, filters: 16, kernelSize: (3, 3), padding: .same, generator: &g),
        Activation(.relu),
        Pooling2D(.max),
        Conv2D(inputChannels: 16, filters: 8, kernelSize: (3, 3), generator: &g),
        Activation(.relu),
        Flatten(),
        Dense(inputFeatures: 72, units: 5, generator: &g),
        Activation(.softmax),
      ])
    let x = input(Shape(3, 8, 10, 10), seed: 26)
    let dOutput = input(Shape(3, 5), seed: 27)
    for kept in [nil, "1"] {
      var full = network
      _ = try full.forwardForGradients(x, keeping: kept, logits: true)
      let expected = try full.backwardForGradients(dOutput, inputGradient: true)
      var made = 0
      full.forEachParameter { if $0.accumulated != nil { made += 1 } }
      XCTAssertEqual(made, 6)

      var inputOnly = network
      _ = try inputOnly.forwardForGradients(x, keeping: kept, logits: true)
      let result = try inputOnly.backwardForGradients(
        dOutput, inputGradient: true, parameterGradients: false)
      XCTAssertEqual(result.dInput?.storage, expected.dInput?.storage)
      XCTAssertEqual(result.dActivation?.storage, expected.dActivation?.storage)
      inputOnly.forEachParameter { XCTAssertNil($0.accumulated, $0.name) }
    }
  }

  /// An operation with a parameter and no way to skip its gradient:
  /// y = x · factor, dFactor += Σ dy · x.
  private struct Scale: Layer {
    var factor = Parameter(name: "factor", value: Tensor(shape: Shape(1), storage: [3]))
    var input: Tensor?
    var kind: String { "Scale" }
    func outputShape(for inputShape: Shape) throws(EngineError) -> Shape { inputShape }
    mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
      self.input = input
      return Tensor(shape: input.shape, storage: input.storage.map { $0 * factor.value.storage[0] })
    }
    mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
      let x = input ?? Tensor(zeros: dOutput.shape)
      factor.grad.storage[0] += zip(dOutput.storage, x.storage).reduce(0) { $0 + $1.0 * $1.1 }
      return Tensor(
        shape: dOutput.shape, storage: dOutput.storage.map { $0 * factor.value.storage[0] })
    }
    mutating func forEachParameter(_ body: (inout Parameter) -> Void) { body(&factor) }
  }

  /// The default for such operations puts the gradients back as they were.
  func testDefaultKeepsTheGradients() throws {
    try checkInputGradientOnly(Scale(), input: input(Shape(2, 5), seed: 32), seed: 33)
    var scale = Scale()
    scale.factor.grad = Tensor(shape: Shape(1), storage: [0.5])
    _ = try scale.forward([input(Shape(2, 5), seed: 34)], mode: .inferenceWithGradients)
    _ = try scale.backward(
      input(Shape(2, 5), seed: 35), needsInputGradients: [true], needsParameterGradients: false)
    XCTAssertEqual(scale.factor.grad.storage, [0.5])
  }

  /// Gradients already there are left as they were.
  func testExistingGradientsAreKept() throws {
    var g = SeededGenerator(seed: 28)
    var layer = conv(3, 4, seed: 29)
    layer.kernel.grad = GradientCheck.randomTensor(layer.kernel.value.shape, &g)
    let before = layer.kernel.grad
    _ = try layer.forward([input(Shape(1, 3, 6, 6), seed: 30)], mode: .inferenceWithGradients)
    _ = try layer.backward(
      input(Shape(1, 4, 6, 6), seed: 31), needsInputGradients: [true],
      needsParameterGradients: false)
    XCTAssertEqual(layer.kernel.grad, before)
    XCTAssertNil(layer.bias.accumulated)
  }
}
