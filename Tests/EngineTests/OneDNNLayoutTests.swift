import Foundation
import Tensors
import XCTest

@testable import Engine

/// Activations kept in oneDNN's layouts between oneDNN operations
/// (convolution, pooling), and Dense on oneDNN's inner product, against
/// the hand-written kernels and OpenBLAS they stand in for.
final class OneDNNLayoutTests: XCTestCase {
  private func skipUnlessUsable() throws { try OneDNNTesting.skipUnlessUsable() }

  override func setUp() {
    OneDNN.leavesSmallConvolutionsToKernels = false
  }

  override func tearDown() {
    OneDNN.isEnabled = true
    OneDNN.leavesSmallConvolutionsToKernels = true
    OneDNN.runsDenseLayers = true
  }

  private func assertClose(
    _ fast: Tensor, _ reference: Tensor, _ message: String, line: UInt = #line
  ) {
    OneDNNTesting.assertClose(fast, reference, message, line: line)
  }

  /// conv → conv (+ max pooling folded) → strided conv → average pooling →
  /// dense: the plan keeps the tensors between the oneDNN operations in
  /// oneDNN's layout and reorders where average pooling reads; the result equals
  /// the kernels' (oneDNN off), and `.inferenceWithGradients` (NCHW between
  /// steps, for backward) gives the same bits.
  func testChainKeepsLayoutAndAgreesWithKernels() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 43)
    func conv(
      _ cin: Int, _ cout: Int, _ k: Int, strides: (Int, Int) = (1, 1), padding: Padding
    )
      -> Conv2D
    {
      Conv2D(
        kernel: GradientCheck.randomTensor(Shape(k, k, cin, cout), &generator),
        bias: GradientCheck.randomTensor(Shape(cout), &generator), strides: strides,
        padding: padding)
    }
    let layers: [any Layer] = [
      conv(3, 16, 3, padding: .same), Activation(.relu),
      conv(16, 16, 3, padding: .symmetric(1)), Activation(.relu), Pooling2D(.max),
      conv(16, 24, 3, strides: (2, 2), padding: .explicit(top: 1, bottom: 0, left: 2, right: 1)),
      Pooling2D(.average, poolSize: (3, 3), strides: (2, 2), padding: .same),
      Flatten(),
    ]
    var network = Network(inputShape: Shape(3, 22, 18), layers: layers)
    let flat = network.inferencePlan.outputShape[0]
    network = Network(
      inputShape: Shape(3, 22, 18),
      layers: layers + [
        Dense(
          kernel: GradientCheck.randomTensor(Shape(flat, 10), &generator),
          bias: GradientCheck.randomTensor(Shape(10), &generator))
      ])
    let plan = network.inferencePlan
    XCTAssertEqual(
      plan.steps.map(\.keepsOneDNNLayout), [true, true, false, false, false, false],
      "\(plan.steps.map(\.names))")
    let input = GradientCheck.randomTensor(Shape(3, 3, 22, 18), &generator)
    let fast = try network.forward(input, mode: .inference)
    for (k, node) in network.graph.nodes.enumerated() {
      if let pool = node.op as? Pooling2D {
        XCTAssertEqual(
          pool.oneDNN != nil, pool.reduction == .max,
          "node \(k): max pooling on oneDNN, in the conv's layout; average on the kernels")
      }
    }
    let gradients = try network.forward(input, mode: .inferenceWithGradients)
    XCTAssertEqual(gradients, fast, "inferenceWithGradients: the same path, the same bits")
    OneDNN.isEnabled = false
    let kernels = try network.forward(input, mode: .inference)
    assertClose(fast, kernels, "oneDNN on \(OneDNN.instructionSet) against the kernels")
    print("oneDNN layouts on \(OneDNN.instructionSet): chain agrees")
  }

  /// A tensor read by a non-oneDNN operation (a product), or by two
  /// readers of which one is not oneDNN's, stays NCHW; one read only by
  /// oneDNN convolutions (two of them) is kept in oneDNN's layout.
  func testBranchesReorderWhereNonOneDNNOperationsRead() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 47)
    func conv(_ cin: Int, _ cout: Int) -> Conv2D {
      Conv2D(
        kernel: GradientCheck.randomTensor(Shape(3, 3, cin, cout), &generator),
        bias: GradientCheck.randomTensor(Shape(cout), &generator), padding: .same)
    }
    let graph = try Graph(
      input: "x", shape: Shape(8, 10, 10),
      nodes: [
        Graph.Node("stem", conv(8, 16), inputs: ["x"]),
        Graph.Node("a", conv(16, 16), inputs: ["stem"]),
        Graph.Node("b", conv(16, 16), inputs: ["stem"]),
        Graph.Node("c", conv(16, 16), inputs: ["a"]),
        Graph.Node("sum", Arithmetic(.multiply), inputs: ["c", "b"]),
        Graph.Node("pool", Pooling2D(.max), inputs: ["sum"]),
      ], output: "pool")
    var network = Network(graph)
    let keeps = Dictionary(
      uniqueKeysWithValues: network.inferencePlan.steps.map { ($0.names[0], $0.keepsOneDNNLayout) })
    XCTAssertEqual(
      keeps, ["stem": true, "a": true, "b": false, "c": false, "sum": false, "pool": false])
    let input = GradientCheck.randomTensor(Shape(2, 8, 10, 10), &generator)
    let fast = try network.forward(input, mode: .inference)
    let pool = try XCTUnwrap(network.graph.nodes.last?.op as? Pooling2D)
    XCTAssertNil(pool.oneDNN, "an NCHW input stays on the kernels")
    OneDNN.isEnabled = false
    assertClose(fast, try network.forward(input, mode: .inference), "branches")
  }

  /// Max pooling on oneDNN, reading a convolution's own layout (3, 16 and
  /// 24 channels: padded, whole and partial channel blocks), against the C
  /// kernels on NCHW (bit for bit: a maximum is exact): windows 2 and 3,
  /// strides 1 to 3, padding valid, same and asymmetric, ceil mode.
  /// Average pooling stays on the kernels.
  func testPoolingAgreesWithKernels() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 53)
    var made = Set<String>()
    for channels in [3, 16, 24] {
      var conv = Conv2D(
        kernel: GradientCheck.randomTensor(Shape(3, 3, 8, channels), &generator),
        bias: GradientCheck.randomTensor(Shape(channels), &generator), padding: .same)
      let input = GradientCheck.randomTensor(Shape(2, 8, 13, 11), &generator)
      let convolved = try XCTUnwrap(
        try conv.oneDNNForward([.plain(input)], folding: [], keepLayout: true))
      let plainConvolved = try convolved.output.plain()
      let windows: [PoolWindow] = [
        PoolWindow(size: (2, 2)),
        PoolWindow(size: (3, 3), strides: (2, 2), padding: .same),
        PoolWindow(
          size: (3, 2), strides: (1, 3), padding: .explicit(top: 1, bottom: 0, left: 0, right: 1)),
        PoolWindow(size: (3, 3), strides: (2, 2), ceilMode: true),
      ]
      for window in windows {
        var pool = Pooling2D(.max, window: window)
        let label = "\(window) over \(channels) channels"
        let fast = try XCTUnwrap(
          try pool.oneDNNForward([convolved.output], folding: [], keepLayout: false), label)
        made.insert(try XCTUnwrap(pool.oneDNN?.implementation, label))
        let reference = try pool.forward(plainConvolved, mode: .inference)
        XCTAssertEqual(try fast.output.plain(), reference, label)
        var average = Pooling2D(.average, window: window)
        XCTAssertNil(
          try average.oneDNNForward([convolved.output], folding: [], keepLayout: false), label)
      }
    }
    print("oneDNN layouts on \(OneDNN.instructionSet): pooling \(made.sorted())")
  }

  /// Dense on oneDNN's inner product (the kernel read in place) against
  /// OpenBLAS and the reference loop, for batches of 1 and 5.
  func testDenseAgreesWithOpenBLAS() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 59)
    var dense = Dense(
      kernel: GradientCheck.randomTensor(Shape(37, 11), &generator),
      bias: GradientCheck.randomTensor(Shape(11), &generator))
    for batch in [1, 5] {
      let input = GradientCheck.randomTensor(Shape(batch, 37), &generator)
      let fast = try dense.forward(input, mode: .inference)
      XCTAssertEqual(dense.oneDNN?.batch, batch)
      OneDNN.runsDenseLayers = false
      let blas = try dense.forward(input, mode: .inference)
      XCTAssertNil(dense.oneDNN)
      OneDNN.runsDenseLayers = true
      let reference = denseForwardReference(
        input: input, kernel: dense.kernel.value, bias: dense.bias.value)
      assertClose(fast, reference, "batch \(batch) against the reference")
      assertClose(fast, blas, "batch \(batch) against OpenBLAS")
      // Training keeps OpenBLAS, bit for bit.
      XCTAssertEqual(try dense.forward(input, mode: .training), blas)
    }
  }

  /// The same tests with oneDNN capped at AVX2 (a child process,
  /// `runCappedAtAVX2`), when this CPU has wider kernels.
  func testAgreesCappedAtAVX2() throws {
    try skipUnlessUsable()
    let text = try runCappedAtAVX2(
      "EngineTests.OneDNNLayoutTests", instructionSet: OneDNN.instructionSet)
    XCTAssertTrue(text.contains("on avx2: chain agrees"), "the child ran capped:\n\(text)")
    XCTAssertTrue(text.contains("on avx2: pooling"), text)
    XCTAssertTrue(text.contains("Executed 5 tests, with 1 test skipped"), text)
  }
}
