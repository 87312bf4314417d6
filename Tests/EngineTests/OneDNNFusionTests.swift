import Foundation
import Tensors
import XCTest

@testable import Engine

/// Inference on oneDNN across residual connections and ReLU6: sums (with
/// a folded ReLU) in oneDNN's layouts, a clip folded into the convolution
/// as a post-op, 1×1 convolutions on oneDNN; each against the NCHW
/// operations and the hand-written kernels they stand in for.
final class OneDNNFusionTests: XCTestCase {
  private func skipUnlessUsable() throws {
    guard OneDNN.isAvailable, OneDNN.isUsable else {
      throw XCTSkip("oneDNN is not usable here (\(OneDNN.instructionSet)); nothing to test")
    }
  }

  override func setUp() {
    OneDNN.leavesSmallConvolutionsToKernels = false
  }

  override func tearDown() {
    OneDNN.isEnabled = true
    OneDNN.leavesSmallConvolutionsToKernels = true
  }

  private func assertClose(
    _ fast: Tensor, _ reference: Tensor, _ message: String, line: UInt = #line
  ) {
    XCTAssertEqual(fast.shape, reference.shape, message, line: line)
    let scale = max(1, reference.storage.map(abs).max() ?? 0)
    XCTAssertLessThanOrEqual(
      fast.maxAbsoluteDifference(to: reference), 1e-5 * scale, message, line: line)
  }

  private func conv(
    _ cin: Int, _ cout: Int, _ k: Int, strides: (Int, Int) = (1, 1), groups: Int = 1,
    _ generator: inout SeededGenerator
  ) -> Conv2D {
    Conv2D(
      kernel: GradientCheck.randomTensor(Shape(k, k, cin / groups, cout), &generator),
      bias: GradientCheck.randomTensor(Shape(cout), &generator), strides: strides,
      padding: .same, groups: groups)
  }

  /// Two residual blocks (the second with a strided 1×1 shortcut), summed
  /// by `Add` and by ONNX's `Arithmetic(.add)`, each sum followed by a
  /// ReLU: every tensor between the steps stays in oneDNN's layout, the
  /// ReLUs fold into the sums, and the output matches the kernels (oneDNN
  /// off) and `.inferenceWithGradients` (NCHW between steps).
  func testResidualBlocksKeepLayoutAndAgreeWithKernels() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 61)
    // 24 channels: a partial channel block, whose padding must stay zero.
    let graph = try Graph(
      input: "x", shape: Shape(24, 12, 10),
      nodes: [
        Graph.Node("a1", conv(24, 24, 3, &generator), inputs: ["x"]),
        Graph.Node("a1r", Activation(.relu), inputs: ["a1"]),
        Graph.Node("a2", conv(24, 24, 3, &generator), inputs: ["a1r"]),
        Graph.Node("sum1", Add(), inputs: ["a2", "x"]),
        Graph.Node("sum1r", Activation(.relu), inputs: ["sum1"]),
        Graph.Node("b1", conv(24, 32, 3, strides: (2, 2), &generator), inputs: ["sum1r"]),
        Graph.Node("b1r", Activation(.relu), inputs: ["b1"]),
        Graph.Node("b2", conv(32, 32, 3, &generator), inputs: ["b1r"]),
        Graph.Node("short", conv(24, 32, 1, strides: (2, 2), &generator), inputs: ["sum1r"]),
        Graph.Node("sum2", Arithmetic(.add), inputs: ["b2", "short"]),
        Graph.Node("sum2r", Activation(.relu), inputs: ["sum2"]),
        Graph.Node("pool", GlobalPooling2D(.average), inputs: ["sum2r"]),
      ], output: "pool")
    var network = Network(graph)
    let plan = network.inferencePlan
    XCTAssertEqual(
      plan.steps.map(\.names),
      [["a1", "a1r"], ["a2"], ["sum1", "sum1r"], ["b1", "b1r"], ["b2"], ["short"],
        ["sum2", "sum2r"], ["pool"]])
    XCTAssertEqual(
      plan.steps.map(\.keepsOneDNNLayout), [true, true, true, true, true, true, false, false])
    let input = GradientCheck.randomTensor(Shape(2, 24, 12, 10), &generator)
    let fast = try network.forward(input, mode: .inference)
    let shortcut = try XCTUnwrap(network.graph.nodes[8].op as? Conv2D)
    XCTAssertNotNil(shortcut.oneDNN, "the 1×1 shortcut runs on oneDNN")
    XCTAssertTrue(shortcut.kernelDescription.hasPrefix("oneDNN "), shortcut.kernelDescription)
    let gradients = try network.forward(input, mode: .inferenceWithGradients)
    assertClose(fast, gradients, "oneDNN layouts against NCHW between the steps")
    OneDNN.isEnabled = false
    let kernels = try network.forward(input, mode: .inference)
    assertClose(fast, kernels, "oneDNN on \(OneDNN.instructionSet) against the kernels")
    let shortcutAfter = try XCTUnwrap(network.graph.nodes[8].op as? Conv2D)
    XCTAssertEqual(shortcutAfter.kernelDescription, "hand-written kernels")
    print("oneDNN fusion on \(OneDNN.instructionSet): residual blocks agree")
  }

  /// A sum in oneDNN's layout is the NCHW sum bit for bit (the padding of
  /// a partial channel block ignored): both operands in the layout, one
  /// of them NCHW (reordered to the other's layout), with and without the
  /// folded ReLU.
  func testSumInLayoutEqualsNCHWSum() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 67)
    var left = conv(8, 20, 3, &generator)
    var right = conv(8, 20, 3, &generator)
    let input = GradientCheck.randomTensor(Shape(2, 8, 7, 9), &generator)
    let a = try XCTUnwrap(try left.oneDNNForward([.plain(input)], folding: [], keepLayout: true))
    let b = try XCTUnwrap(try right.oneDNNForward([.plain(input)], folding: [], keepLayout: true))
    guard case .oneDNN(let tensor) = a.output else { return XCTFail("a oneDNN layout expected") }
    XCTAssertFalse(tensor.layout.isNCHW, "the convolution's own layout")
    let (plainA, plainB) = (try a.output.plain(), try b.output.plain())
    for relu in [false, true] {
      var arithmetic = Arithmetic(.add)
      var reference = try arithmetic.forward([plainA, plainB], mode: .inference)
      if relu {
        var rectifier = Activation(.relu)
        reference = try rectifier.forward(reference, mode: .inference)
      }
      let stages: [FusionRole] = relu ? [.relu] : []
      for inputs in [[a.output, b.output], [a.output, .plain(plainB)], [.plain(plainA), b.output]] {
        let run = try XCTUnwrap(
          try arithmetic.oneDNNForward(inputs, folding: stages, keepLayout: true))
        XCTAssertEqual(run.folded, relu ? 1 : 0)
        XCTAssertEqual(try run.output.plain(), reference, "relu \(relu)")
      }
      var add = Add()
      let run = try XCTUnwrap(
        try add.oneDNNForward([a.output, b.output], folding: stages, keepLayout: false))
      XCTAssertEqual(try run.output.plain(), reference, "Add, relu \(relu)")
      XCTAssertNil(
        try arithmetic.oneDNNForward([.plain(plainA), .plain(plainB)], folding: [], keepLayout: true),
        "NCHW operands stay on the NCHW sum")
    }
    var scaled = Arithmetic(.add, constant: Tensor(zeros: Shape(20, 1, 1)))
    XCTAssertFalse(scaled.canFold([.relu]), "a sum with a constant folds nothing")
    XCTAssertNil(try scaled.oneDNNForward([a.output], folding: [], keepLayout: true))
  }

  /// Convolution + ReLU6 (a clip) as MobileNetV2 has it, plain and
  /// depthwise: the planner folds the clip, oneDNN's inference applies it
  /// as a post-op (folded 1), while training, `.inferenceWithGradients`
  /// and the kernels run it on its own (folded 0), with the same values.
  func testClipFoldsIntoConvolutionOnOneDNN() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 71)
    var network = Network(
      inputShape: Shape(16, 9, 9),
      layers: [
        conv(16, 32, 1, &generator), ParametricActivation(.clip(low: 0, high: 6)),
        conv(32, 32, 3, groups: 32, &generator), ParametricActivation(.clip(low: 0, high: 6)),
        conv(32, 16, 1, &generator),
      ])
    XCTAssertEqual(network.inferencePlan.steps.map(\.folded.count), [1, 1, 0])
    XCTAssertEqual(network.trainingPlan.steps.map(\.folded.count), [1, 1, 0])
    let input = GradientCheck.randomTensor(Shape(2, 16, 9, 9), &generator, scale: 4)
    for k in [0, 2] {
      var layer = try XCTUnwrap(network.graph.nodes[k].op as? Conv2D)
      let x =
        k == 0
        ? input
        : try network.activation(of: network.graph.nodes[1].name, for: input)
      let stages: [FusionRole] = [.clip(low: 0, high: 6)]
      let fused = try layer.forward([x], mode: .inference, folding: stages)
      XCTAssertEqual(fused.folded, 1, "node \(k) folds the clip on oneDNN")
      XCTAssertTrue(fused.output.storage.allSatisfy { $0 >= 0 && $0 <= 6 })
      XCTAssertTrue(fused.output.storage.contains(6) && fused.output.storage.contains(0))
      var clip = ParametricActivation(.clip(low: 0, high: 6))
      for mode in [Mode.inferenceWithGradients, .training] {
        let alone = try layer.forward([x], mode: mode, folding: stages)
        XCTAssertEqual(alone.folded, 0, "node \(k) in \(mode) leaves the clip")
        assertClose(
          fused.output, try clip.forward(alone.output, mode: .inference), "node \(k) \(mode)")
      }
      OneDNN.isEnabled = false
      let kernels = try layer.forward([x], mode: .inference, folding: stages)
      OneDNN.isEnabled = true
      XCTAssertEqual(kernels.folded, 0)
      assertClose(fused.output, try clip.forward(kernels.output, mode: .inference), "kernels \(k)")
    }
    var whole = network
    let fast = try whole.forward(input, mode: .inference)
    OneDNN.isEnabled = false
    assertClose(fast, try whole.forward(input, mode: .inference), "the network")
    print("oneDNN fusion on \(OneDNN.instructionSet): clip agrees")
  }

  /// 1×1 convolutions go to oneDNN; the seed's MNIST layers (3×3, one
  /// and 32 input channels) stay on the hand-written kernels.
  func testOneByOneConvolutionsRunOnOneDNN() throws {
    OneDNN.leavesSmallConvolutionsToKernels = true
    var generator = SeededGenerator(seed: 73)
    XCTAssertTrue(conv(64, 128, 1, &generator).runsOnOneDNN(inputShapes: [Shape(64, 28, 28)]))
    XCTAssertTrue(conv(8, 8, 1, &generator).runsOnOneDNN(inputShapes: [Shape(8, 4, 4)]))
    XCTAssertFalse(conv(1, 32, 3, &generator).runsOnOneDNN(inputShapes: [Shape(1, 28, 28)]))
    XCTAssertFalse(conv(32, 64, 3, &generator).runsOnOneDNN(inputShapes: [Shape(32, 26, 26)]))
  }

  /// The profile of a run: one entry per kind of step and kernel, steps
  /// counted per run, times that add up to no more than the runs took;
  /// nothing recorded while it is off.
  func testStepProfileCountsEveryStep() throws {
    var generator = SeededGenerator(seed: 79)
    var network = Network(
      inputShape: Shape(8, 10, 10),
      layers: [
        conv(8, 16, 3, &generator), Activation(.relu), conv(16, 16, 3, &generator),
        Activation(.relu), Pooling2D(.max), Flatten(),
      ])
    let input = GradientCheck.randomTensor(Shape(2, 8, 10, 10), &generator)
    _ = try network.forward(input, mode: .inference)
    XCTAssertNil(network.stepProfile)
    network.stepProfile = StepProfile()
    let start = ContinuousClock.now
    for _ in 0..<3 { _ = try network.forward(input, mode: .inference) }
    let wall = StepProfile.milliseconds(since: start)
    let profile = try XCTUnwrap(network.stepProfile)
    XCTAssertEqual(profile.runs, 3)
    let kinds = profile.entries.map(\.kind)
    XCTAssertEqual(
      Set(kinds),
      ["Conv2D+Activation(relu)", "Conv2D+Activation(relu)+MaxPooling2D", "Flatten"])
    XCTAssertEqual(profile.entries.map(\.steps).reduce(0, +), 3 * network.inferencePlan.steps.count)
    XCTAssertGreaterThan(profile.totalMilliseconds, 0)
    XCTAssertLessThanOrEqual(profile.totalMilliseconds, wall)
    XCTAssertEqual(profile.byTime.first?.milliseconds, profile.entries.map(\.milliseconds).max())
    let flatten = try XCTUnwrap(profile.entries.first { $0.kind == "Flatten" })
    XCTAssertEqual(flatten.kernel, "Swift")
  }

  /// The same tests with oneDNN capped at AVX2 (a child process,
  /// `runCappedAtAVX2`), when this CPU has wider kernels.
  func testAgreesCappedAtAVX2() throws {
    try skipUnlessUsable()
    let text = try runCappedAtAVX2(
      "EngineTests.OneDNNFusionTests", instructionSet: OneDNN.instructionSet)
    XCTAssertTrue(text.contains("on avx2: residual blocks agree"), "the child ran capped:\n\(text)")
    XCTAssertTrue(text.contains("on avx2: clip agrees"), text)
    XCTAssertTrue(text.contains("Executed 6 tests, with 1 test skipped"), text)
  }
}
