import Foundation
import Tensors
import XCTest
import _DNNLKernels

@testable import Engine

/// Inference on oneDNN across residual connections and ReLU6: sums (with
/// a folded ReLU) in oneDNN's layouts, a clip folded into the convolution
/// as a post-op, 1×1 convolutions on oneDNN; each against the NCHW
/// operations and the hand-written kernels they stand in for.
final class OneDNNFusionTests: XCTestCase {
  private func skipUnlessUsable() throws { try OneDNNTesting.skipUnlessUsable() }

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
    OneDNNTesting.assertClose(fast, reference, message, line: line)
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
      [
        ["a1", "a1r"], ["a2"], ["sum1", "sum1r"], ["b1", "b1r"], ["b2"], ["short"],
        ["sum2", "sum2r"], ["pool"],
      ])
    XCTAssertEqual(
      plan.steps.map(\.keepsOneDNNLayout), [true, true, true, true, true, true, false, false])
    // a2 adds x (the sum's input 1); the shortcut, run after b2, adds b2
    // (input 0); b2's reader is no sum step next to it.
    XCTAssertEqual(plan.steps.map(\.residualAddend), [nil, 1, nil, nil, nil, 0, nil, nil])
    XCTAssertEqual(network.trainingPlan.steps.map(\.residualAddend)[1], 1)
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

  /// A convolution with the residual sum as a oneDNN post-op against the
  /// convolution and the sum run apart, with and without the ReLU, the
  /// addend given in NCHW, in the convolution's layout and in another
  /// blocked one; an addend something else still holds is left intact.
  func testConvolutionWithSumPostOpEqualsConvolutionThenSum() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 79)
    var layer = conv(24, 24, 3, &generator)
    let input = GradientCheck.randomTensor(Shape(2, 24, 6, 7), &generator)
    let addend = GradientCheck.randomTensor(Shape(2, 24, 6, 7), &generator)
    let alone = try XCTUnwrap(
      try layer.oneDNNForward([.plain(input)], folding: [], keepLayout: true))
    guard case .oneDNN(let convolved) = alone.output else { return XCTFail("a oneDNN layout") }
    let blocked8 = try XCTUnwrap(OneDNNLayout(cvz_dnnl_layout_blocked(2, 24, 6, 7, 8)))
    let other =
      convolved.layout.isSame(as: blocked8)
      ? try XCTUnwrap(OneDNNLayout(cvz_dnnl_layout_blocked(2, 24, 6, 7, 16))) : blocked8
    let addends: [(String, StepValue)] = [
      ("NCHW", .plain(addend)),
      ("the convolution's layout", .oneDNN(try OneDNNTensor(addend, layout: convolved.layout))),
      ("another layout", .oneDNN(try OneDNNTensor(addend, layout: other))),
    ]
    for relu in [false, true] {
      var add = Add()
      let reference = try XCTUnwrap(
        try add.oneDNNForward(
          [alone.output, .plain(addend)], folding: relu ? [.relu] : [], keepLayout: false)
      ).output.plain()
      if relu { XCTAssertTrue(reference.storage.contains(0)) }
      XCTAssertTrue(layer.preparesResidualSum(inputShape: input.shape, relu: relu))
      for (name, value) in addends {
        let before = try value.plain()
        let fused = try layer.oneDNNForward(
          .plain(input), adding: value, relu: relu, keepLayout: false)
        assertClose(try fused.plain(), reference, "relu \(relu), addend in \(name)")
        XCTAssertEqual(try value.plain(), before, "the caller's addend is left intact")
        let kept = try layer.oneDNNForward(
          .plain(input), adding: value, relu: relu, keepLayout: true)
        guard case .oneDNN(let tensor) = kept else { return XCTFail("a oneDNN layout kept") }
        XCTAssertTrue(tensor.layout.isSame(as: convolved.layout))
        assertClose(try kept.plain(), reference, "kept, relu \(relu), \(name)")
      }
    }
  }

  /// y = relu(conv(h) + h): the addend is also the convolution's input, so
  /// the sum must not write over it while the convolution reads it; the
  /// network agrees with the kernels and with NCHW between the steps.
  func testResidualSumWhoseAddendIsTheConvolutionInput() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 83)
    let graph = try Graph(
      input: "x", shape: Shape(16, 9, 8),
      nodes: [
        Graph.Node("h", conv(16, 16, 3, &generator), inputs: ["x"]),
        Graph.Node("hr", Activation(.relu), inputs: ["h"]),
        Graph.Node("c", conv(16, 16, 3, &generator), inputs: ["hr"]),
        Graph.Node("sum", Arithmetic(.add), inputs: ["hr", "c"]),
        Graph.Node("sumr", Activation(.relu), inputs: ["sum"]),
        Graph.Node("pool", GlobalPooling2D(.average), inputs: ["sumr"]),
      ], output: "pool")
    var network = Network(graph)
    XCTAssertEqual(network.inferencePlan.steps.map(\.residualAddend), [nil, 0, nil, nil])
    let input = GradientCheck.randomTensor(Shape(2, 16, 9, 8), &generator)
    let fast = try network.forward(input, mode: .inference)
    assertClose(fast, try network.forward(input, mode: .inferenceWithGradients), "NCHW steps")
    // The plan for "sumr" fuses too; "c" and "hr" end their plans.
    let fused = try network.activation(of: "sumr", for: input)
    var sum = try network.activation(of: "hr", for: input)
    sum += try network.activation(of: "c", for: input)
    let expected = Tensor(shape: sum.shape, storage: sum.storage.map { max($0, 0) })
    assertClose(fused, expected, "relu(c + hr)")
    OneDNN.isEnabled = false
    assertClose(fast, try network.forward(input, mode: .inference), "the kernels")
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
      for inputs in [
        [a.output, b.output], [a.output, .plain(plainB)], [.plain(plainA), b.output],
      ] {
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
        try arithmetic.oneDNNForward(
          [.plain(plainA), .plain(plainB)], folding: [], keepLayout: true),
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
  /// and 32 input channels) stay on the hand-written kernels, except that
  /// the second (32 → 64) runs on oneDNN's Winograd on an AVX-512 CPU.
  func testOneByOneConvolutionsRunOnOneDNN() throws {
    OneDNN.leavesSmallConvolutionsToKernels = true
    var generator = SeededGenerator(seed: 73)
    XCTAssertTrue(conv(64, 128, 1, &generator).runsOnOneDNN(inputShapes: [Shape(64, 28, 28)]))
    XCTAssertTrue(conv(8, 8, 1, &generator).runsOnOneDNN(inputShapes: [Shape(8, 4, 4)]))
    XCTAssertFalse(conv(1, 32, 3, &generator).runsOnOneDNN(inputShapes: [Shape(1, 28, 28)]))
    XCTAssertEqual(
      conv(32, 64, 3, &generator).runsOnOneDNN(inputShapes: [Shape(32, 26, 26)]),
      OneDNN.instructionSet.hasPrefix("avx512"))
    XCTAssertFalse(conv(24, 64, 3, &generator).runsOnOneDNN(inputShapes: [Shape(24, 26, 26)]))
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

  /// Joins and batch normalisation (+ ReLU) on channel-blocked layouts
  /// (nChw16c, nChw8c, channels-last), and on a mix with NCHW operands
  /// (reordered first): the same values as the NCHW operations, bit for
  /// bit for the join, within rounding for the affine map.
  func testJoinAndNormalisationInBlockedLayouts() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 83)
    let a = GradientCheck.randomTensor(Shape(2, 16, 5, 7), &generator)
    let b = GradientCheck.randomTensor(Shape(2, 32, 5, 7), &generator)
    var join = Concatenate()
    let joined = try join.forward([a, b], mode: .inference)
    var norm = BatchNormalization(
      gamma: GradientCheck.randomTensor(Shape(48), &generator),
      beta: GradientCheck.randomTensor(Shape(48), &generator),
      mean: GradientCheck.randomTensor(Shape(48), &generator),
      variance: Tensor(shape: Shape(48), storage: (0..<48).map { 0.5 + Float($0) / 48 }))
    let normalised = try norm.forward(joined, mode: .inference)
    var relu = Activation(.relu)
    let rectified = try relu.forward(normalised, mode: .inference)
    func laidOut(_ t: Tensor, _ block: Int32) throws -> StepValue {
      let s = t.shape
      let layout = try XCTUnwrap(
        OneDNNLayout(cvz_dnnl_layout_blocked(s[0], s[1], s[2], s[3], block)))
      return .oneDNN(try OneDNNTensor(t, layout: layout))
    }
    for block: Int32 in [16, 8, 0] {
      for inputs in [
        [try laidOut(a, block), try laidOut(b, block)], [.plain(a), try laidOut(b, block)],
      ] {
        let run = try XCTUnwrap(
          try join.oneDNNForward(inputs, folding: [], keepLayout: true), "block \(block)")
        XCTAssertEqual(try run.output.plain(), joined, "block \(block)")
        for stages in [[], [FusionRole.relu]] {
          let normal = try XCTUnwrap(
            try norm.oneDNNForward([run.output], folding: stages, keepLayout: true))
          XCTAssertEqual(normal.folded, stages.count)
          assertClose(
            try normal.output.plain(), stages.isEmpty ? normalised : rectified,
            "block \(block) \(stages)")
        }
      }
      XCTAssertNil(
        try join.oneDNNForward(
          [try laidOut(a, block), try laidOut(b, block)], folding: [],
          keepLayout: false), "an NCHW output joins on NCHW")
    }
    XCTAssertNil(try norm.oneDNNForward([.plain(joined)], folding: [], keepLayout: true))
  }

  /// A DenseNet-like block (joins of every earlier feature map, each
  /// followed by batch normalisation, ReLU and a convolution): the joins
  /// and normalisations stay in oneDNN's layouts, and the output matches
  /// the kernels and `.inferenceWithGradients`.
  func testDenseBlockKeepsLayoutAndAgreesWithKernels() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 89)
    func norm(_ c: Int) -> BatchNormalization {
      BatchNormalization(
        gamma: GradientCheck.randomTensor(Shape(c), &generator),
        beta: GradientCheck.randomTensor(Shape(c), &generator),
        mean: GradientCheck.randomTensor(Shape(c), &generator),
        variance: Tensor(shape: Shape(c), storage: (0..<c).map { 0.5 + Float($0) / Float(c) }))
    }
    let graph = try Graph(
      input: "x", shape: Shape(8, 9, 9),
      nodes: [
        Graph.Node("f0", conv(8, 32, 3, &generator), inputs: ["x"]),
        Graph.Node("n1", norm(32), inputs: ["f0"]),
        Graph.Node("r1", Activation(.relu), inputs: ["n1"]),
        Graph.Node("f1", conv(32, 16, 3, &generator), inputs: ["r1"]),
        Graph.Node("j1", Concatenate(), inputs: ["f0", "f1"]),
        Graph.Node("n2", norm(48), inputs: ["j1"]),
        Graph.Node("r2", Activation(.relu), inputs: ["n2"]),
        Graph.Node("f2", conv(48, 16, 1, &generator), inputs: ["r2"]),
        Graph.Node("j2", Concatenate(), inputs: ["f0", "f1", "f2"]),
        Graph.Node("n3", norm(64), inputs: ["j2"]),
        Graph.Node("pool", GlobalPooling2D(.average), inputs: ["n3"]),
      ], output: "pool")
    var network = Network(graph)
    let keeps = Dictionary(
      uniqueKeysWithValues: network.inferencePlan.steps.map { ($0.names[0], $0.keepsOneDNNLayout) })
    XCTAssertEqual(
      keeps,
      [
        "f0": true, "n1": true, "f1": true, "j1": true, "n2": true, "f2": true, "j2": true,
        "n3": false, "pool": false,
      ])
    let input = GradientCheck.randomTensor(Shape(2, 8, 9, 9), &generator)
    let fast = try network.forward(input, mode: .inference)
    assertClose(fast, try network.forward(input, mode: .inferenceWithGradients), "NCHW steps")
    OneDNN.isEnabled = false
    assertClose(fast, try network.forward(input, mode: .inference), "the kernels")
    print("oneDNN fusion on \(OneDNN.instructionSet): dense block agrees")
  }

  /// The same tests with oneDNN capped at AVX2 (a child process,
  /// `runCappedAtAVX2`), when this CPU has wider kernels.
  func testAgreesCappedAtAVX2() throws {
    try skipUnlessUsable()
    let text = try runCappedAtAVX2(
      "EngineTests.OneDNNFusionTests", instructionSet: OneDNN.instructionSet)
    XCTAssertTrue(text.contains("on avx2: residual blocks agree"), "the child ran capped:\n\(text)")
    XCTAssertTrue(text.contains("on avx2: clip agrees"), text)
    XCTAssertTrue(text.contains("on avx2: dense block agrees"), text)
    XCTAssertTrue(text.contains("Executed 10 tests, with 1 test skipped"), text)
  }
}
