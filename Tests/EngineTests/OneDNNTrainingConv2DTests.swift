import Foundation
import Tensors
import XCTest
import _CNNKernels
import _Runtime

@testable import Engine

/// The oneDNN training convolution (forward, backward data, backward
/// weights) against the hand-written `_CNNKernels` paths, which stay the
/// reference.
final class OneDNNTrainingConv2DTests: XCTestCase {
  struct Case: CustomStringConvertible {
    var n, cin, h, w, cout, k, stride: Int
    var padding: Padding

    var description: String { "n\(n) cin\(cin) \(h)x\(w) cout\(cout) k\(k) s\(stride) \(padding)" }
  }

  /// cifar-cnn's and mnist-cnn's layers (at small batches), 1 and 3 input
  /// channels, channel counts Winograd takes (16·k) and does not, 1×1 and
  /// 5×5 kernels, stride 2, `same` and valid padding; batches of 1, of 3
  /// (one image a chunk) and of 13 (chunks of 1 and 2 images).
  static let cases: [Case] = [
    Case(n: 13, cin: 3, h: 32, w: 32, cout: 32, k: 3, stride: 1, padding: .same),
    Case(n: 13, cin: 32, h: 32, w: 32, cout: 32, k: 3, stride: 1, padding: .valid),
    Case(n: 3, cin: 32, h: 15, w: 15, cout: 64, k: 3, stride: 1, padding: .same),
    Case(n: 13, cin: 64, h: 15, w: 15, cout: 64, k: 3, stride: 1, padding: .valid),
    Case(n: 3, cin: 1, h: 28, w: 28, cout: 32, k: 3, stride: 1, padding: .valid),
    Case(n: 1, cin: 32, h: 26, w: 26, cout: 32, k: 3, stride: 1, padding: .valid),
    Case(n: 3, cin: 24, h: 11, w: 13, cout: 8, k: 3, stride: 1, padding: .same),
    Case(n: 3, cin: 16, h: 14, w: 12, cout: 32, k: 3, stride: 2, padding: .same),
    Case(n: 13, cin: 16, h: 9, w: 10, cout: 16, k: 1, stride: 1, padding: .valid),
    Case(n: 3, cin: 8, h: 12, w: 12, cout: 16, k: 5, stride: 1, padding: .same),
    Case(n: 3, cin: 3, h: 17, w: 16, cout: 16, k: 5, stride: 2, padding: .valid),
  ]

  private func skipUnlessUsable() throws {
    guard OneDNN.isAvailable else {
      throw XCTSkip("oneDNN's CPU engine could not be created; the oneDNN path is not tested")
    }
    guard OneDNNTraining.instructionSet.hasPrefix("avx") else {
      throw XCTSkip(
        "oneDNN kernels here are \(OneDNNTraining.instructionSet), which training does not "
          + "use; the oneDNN training path is not tested on this CPU")
    }
  }

  /// One training step of `conv` on `input`: forward (with a folded ReLU
  /// when relu) and backward with `dOutput`, from zero gradients.
  private func step(
    _ conv: Conv2D, input: Tensor, relu: Bool, seed: UInt64
  ) throws -> (output: Tensor, dInput: Tensor, dKernel: Tensor, dBias: Tensor, layer: Conv2D) {
    var conv = conv
    conv.kernel.grad = Tensor(zeros: conv.kernel.value.shape)
    conv.bias.grad = Tensor(zeros: conv.bias.value.shape)
    let run = try conv.forward([input], mode: .training, folding: relu ? [.relu] : [])
    XCTAssertEqual(run.folded, relu ? 1 : 0)
    var generator = SeededGenerator(seed: seed)
    let dOutput = GradientCheck.randomTensor(run.output.shape, &generator)
    let dInput = try conv.backward(dOutput)
    return (run.output, dInput, conv.kernel.grad, conv.bias.grad, conv)
  }

  private static func close(_ a: Tensor, _ b: Tensor, tolerance: Float) -> Bool {
    let scale = max(1, b.storage.map(abs).max() ?? 0)
    return a.shape == b.shape && a.maxAbsoluteDifference(to: b) <= tolerance * scale
  }

  /// Every case, with and without a folded ReLU, on oneDNN and on the
  /// hand-written kernels: output and the three gradients equal to 1e-5 of
  /// their scale (Winograd's transforms included).
  func testAgreesWithKernels() throws {
    try skipUnlessUsable()
    OneDNNTraining.takesEveryConvolution = true
    defer {
      OneDNNTraining.takesEveryConvolution = false
      OneDNNTraining.isEnabled = true
    }
    var generator = SeededGenerator(seed: 43)
    var implementations = Set<String>()
    for c in Self.cases {
      for relu in [false, true] {
        let input = GradientCheck.randomTensor(Shape(c.n, c.cin, c.h, c.w), &generator)
        let conv = Conv2D(
          kernel: GradientCheck.randomTensor(Shape(c.k, c.k, c.cin, c.cout), &generator),
          bias: GradientCheck.randomTensor(Shape(c.cout), &generator),
          strides: (c.stride, c.stride), padding: c.padding)
        OneDNNTraining.isEnabled = true
        let fast = try step(conv, input: input, relu: relu, seed: 5)
        let made = try XCTUnwrap(fast.layer.oneDNNTraining, "oneDNN made \(c)")
        implementations.formUnion(made.implementations)
        OneDNNTraining.isEnabled = false
        let kernels = try step(conv, input: input, relu: relu, seed: 5)
        XCTAssertNil(kernels.layer.oneDNNTraining, "off means off: \(c)")
        let what = "\(c) relu \(relu) on \(made.implementations)"
        XCTAssertTrue(Self.close(fast.output, kernels.output, tolerance: 1e-5), "output \(what)")
        XCTAssertTrue(Self.close(fast.dInput, kernels.dInput, tolerance: 1e-5), "dInput \(what)")
        XCTAssertTrue(
          Self.close(fast.dKernel, kernels.dKernel, tolerance: 1e-5), "dKernel \(what)")
        XCTAssertTrue(Self.close(fast.dBias, kernels.dBias, tolerance: 1e-5), "dBias \(what)")
      }
    }
    print("oneDNN training on \(OneDNNTraining.instructionSet): \(implementations.sorted())")
    if OneDNNTraining.instructionSet.hasPrefix("avx512") {
      XCTAssertTrue(
        implementations.contains { $0.contains("wino") }, "Winograd where it applies")
    }
  }

  /// Max pooling folded into the oneDNN passes (pooled while each chunk's
  /// output is in oneDNN's layout, the gradient routed back to the winners)
  /// against the hand-written kernels (which fold it or pool after):
  /// cifar-cnn's two pooled layers (the second drops a row and a column),
  /// overlapping `same` windows, no ReLU; and 8 output channels, whose
  /// padded AVX-512 layout cannot pool, so the pooling runs after, still
  /// equal. Batches of 13: chunks of one and two images.
  func testFoldedMaxPoolingAgreesWithKernels() throws {
    try skipUnlessUsable()
    OneDNNTraining.takesEveryConvolution = true
    defer {
      OneDNNTraining.takesEveryConvolution = false
      OneDNNTraining.isEnabled = true
    }
    struct PoolCase {
      var conv: Case
      var size, stride: Int
      var padding: Padding
      var relu: Bool
    }
    let cases = [
      PoolCase(conv: Self.cases[1], size: 2, stride: 2, padding: .valid, relu: true),
      PoolCase(conv: Self.cases[3], size: 2, stride: 2, padding: .valid, relu: true),
      PoolCase(
        conv: Case(n: 13, cin: 16, h: 12, w: 11, cout: 16, k: 3, stride: 1, padding: .same),
        size: 3, stride: 2, padding: .same, relu: false),
      PoolCase(conv: Self.cases[0], size: 2, stride: 2, padding: .valid, relu: false),
      PoolCase(conv: Self.cases[6], size: 2, stride: 2, padding: .valid, relu: true),
      // Windows apart (cells no window covers), and a last window cut short.
      PoolCase(conv: Self.cases[3], size: 2, stride: 3, padding: .valid, relu: true),
      PoolCase(conv: Self.cases[3], size: 2, stride: 2, padding: .same, relu: true),
    ]
    var generator = SeededGenerator(seed: 67)
    var pooledOnOneDNN = 0
    for p in cases {
      let c = p.conv
      let input = GradientCheck.randomTensor(Shape(c.n, c.cin, c.h, c.w), &generator)
      let conv = Conv2D(
        kernel: GradientCheck.randomTensor(Shape(c.k, c.k, c.cin, c.cout), &generator),
        bias: GradientCheck.randomTensor(Shape(c.cout), &generator),
        strides: (c.stride, c.stride), padding: c.padding)
      let pool = Pooling2D(
        .max, poolSize: (p.size, p.size), strides: (p.stride, p.stride), padding: p.padding)
      let layers: [any Layer] = p.relu ? [conv, Activation(.relu), pool] : [conv, pool]
      let network = Network(inputShape: Shape(c.cin, c.h, c.w), layers: layers)
      XCTAssertEqual(network.trainingPlan.steps.count, 1, "the plan folds the pooling: \(c)")
      func step(_ oneDNN: Bool) throws -> (Tensor, Tensor, [Tensor], Bool) {
        OneDNNTraining.isEnabled = oneDNN
        var net = network
        let output = try net.execute(net.trainingPlan, input: input, mode: .training)
        let pooled = (net.graph.nodes[0].op as? Conv2D)?.oneDNNTrainingRun?.pooling != nil
        var g = SeededGenerator(seed: 3)
        let dOutput = GradientCheck.randomTensor(output.shape, &g)
        let dInput = try XCTUnwrap(try net.backward(dOutput, inputGradient: true))
        var gradients: [Tensor] = []
        net.forEachParameter { gradients.append($0.grad) }
        return (output, dInput, gradients, pooled)
      }
      let fast = try step(true)
      let kernels = try step(false)
      XCTAssertFalse(kernels.3)
      if fast.3 { pooledOnOneDNN += 1 }
      let what = "\(c) pool \(p.size)/\(p.stride) \(p.padding) relu \(p.relu), folded \(fast.3)"
      XCTAssertTrue(Self.close(fast.0, kernels.0, tolerance: 1e-5), "output \(what)")
      XCTAssertTrue(Self.close(fast.1, kernels.1, tolerance: 1e-5), "dInput \(what)")
      for (a, b) in zip(fast.2, kernels.2) {
        XCTAssertTrue(Self.close(a, b, tolerance: 1e-5), "parameter gradient \(what)")
      }
    }
    XCTAssertGreaterThanOrEqual(pooledOnOneDNN, 4, "every case with whole channel blocks pools")
  }

  /// `usesWinograd` off (`CONVVIZ_WINOGRAD=0`) makes a layer Winograd would
  /// take direct in every pass, with the hand-written kernels' results to
  /// 1e-5; on, it is Winograd on AVX-512.
  func testWinogradSwitch() throws {
    try skipUnlessUsable()
    OneDNNTraining.takesEveryConvolution = true
    defer {
      OneDNNTraining.takesEveryConvolution = false
      OneDNNTraining.usesWinograd = true
      OneDNNTraining.isEnabled = true
    }
    var generator = SeededGenerator(seed: 59)
    let input = GradientCheck.randomTensor(Shape(9, 32, 10, 10), &generator)
    let conv = Conv2D(
      kernel: GradientCheck.randomTensor(Shape(3, 3, 32, 32), &generator),
      bias: GradientCheck.randomTensor(Shape(32), &generator), padding: .same)
    OneDNNTraining.isEnabled = false
    let kernels = try step(conv, input: input, relu: true, seed: 13)
    OneDNNTraining.isEnabled = true
    for winograd in [false, true] {
      OneDNNTraining.usesWinograd = winograd
      let run = try step(conv, input: input, relu: true, seed: 13)
      let made = try XCTUnwrap(run.layer.oneDNNTraining).implementations
      if !winograd || OneDNNTraining.instructionSet.hasPrefix("avx512") {
        XCTAssertEqual(made.allSatisfy { $0.contains("wino") }, winograd, "\(made)")
      }
      XCTAssertTrue(Self.close(run.output, kernels.output, tolerance: 1e-5), "\(made)")
      XCTAssertTrue(Self.close(run.dInput, kernels.dInput, tolerance: 1e-5), "\(made)")
      XCTAssertTrue(Self.close(run.dKernel, kernels.dKernel, tolerance: 1e-5), "\(made)")
    }
  }

  /// The forward's reordered copy of its input, which the next backward of
  /// that input reuses, is never used for another input: a backward after
  /// a forward on other data gives the same bits as one right after its
  /// own forward, and as one after no forward at all.
  func testKeptInputOnlyForItsOwnBackward() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 61)
    let g = cvz_conv_geometry(
      batch: 9, in_channels: 32, in_height: 10, in_width: 10, out_channels: 32,
      kernel_height: 3, kernel_width: 3, stride_y: 1, stride_x: 1, pad_top: 1, pad_left: 1,
      out_height: 10, out_width: 10)
    let a = GradientCheck.randomTensor(Shape(9, 32, 10, 10), &generator)
    let b = GradientCheck.randomTensor(Shape(9, 32, 10, 10), &generator)
    let kernel = GradientCheck.randomTensor(Shape(3, 3, 32, 32), &generator)
    let bias = GradientCheck.randomTensor(Shape(32), &generator)
    let dOutput = GradientCheck.randomTensor(Shape(9, 32, 10, 10), &generator)
    let conv = try XCTUnwrap(
      OneDNNTrainingConvolution(geometry: g, key: .init(inputShape: a.shape, relu: true)))
    func backward(_ y: Tensor) throws -> (Tensor, Tensor, Tensor) {
      var dKernel = Tensor(zeros: kernel.shape)
      var dBias = Tensor(zeros: bias.shape)
      let dInput = try conv.backward(
        input: .plain(a), kernel: kernel, dOutput: .plain(dOutput), reluOutput: .plain(y),
        needsInputGradient: true, dKernel: &dKernel, dBias: &dBias)
      return (try XCTUnwrap(dInput).plain(), dKernel, dBias)
    }
    let y = try conv.forward(.plain(a), kernel: kernel, bias: bias, keepLayout: false).plain()
    let own = try backward(y)
    _ = try conv.forward(.plain(b), kernel: kernel, bias: bias, keepLayout: false)
    let afterOther = try backward(y)
    let afterNone = try backward(y)
    for (other, what) in [(afterOther, "after another forward"), (afterNone, "after none")] {
      XCTAssertTrue(other.0 == own.0, "dInput \(what)")
      XCTAssertTrue(other.1 == own.1, "dKernel \(what)")
      XCTAssertTrue(other.2 == own.2, "dBias \(what)")
    }
  }

  /// The first layer gets no input gradient (`backwardParametersOnly`), and
  /// its parameter gradients are those of the full backward.
  func testParametersOnlyBackward() throws {
    try skipUnlessUsable()
    OneDNNTraining.takesEveryConvolution = true
    defer { OneDNNTraining.takesEveryConvolution = false }
    var generator = SeededGenerator(seed: 47)
    let input = GradientCheck.randomTensor(Shape(5, 3, 12, 12), &generator)
    var conv = Conv2D(
      kernel: GradientCheck.randomTensor(Shape(3, 3, 3, 16), &generator),
      bias: GradientCheck.randomTensor(Shape(16), &generator), padding: .same)
    let full = try step(conv, input: input, relu: true, seed: 9)
    let output = try conv.forward([input], mode: .training, folding: [.relu]).output
    XCTAssertNotNil(conv.oneDNNTraining)
    var g = SeededGenerator(seed: 9)
    try conv.backwardParametersOnly(GradientCheck.randomTensor(output.shape, &g))
    XCTAssertEqual(conv.kernel.grad, full.dKernel)
    XCTAssertEqual(conv.bias.grad, full.dBias)
  }

  /// The thread count never changes a bit (chunks fixed by the batch, each
  /// single-threaded, gradients summed in chunk order), and the primitives
  /// are kept for the next batch of the same shape.
  func testSameBitsWithAnyThreadCount() throws {
    try skipUnlessUsable()
    defer { cvz_set_threads(0) }
    var generator = SeededGenerator(seed: 53)
    let input = GradientCheck.randomTensor(Shape(21, 32, 15, 15), &generator)
    let conv = Conv2D(
      kernel: GradientCheck.randomTensor(Shape(3, 3, 32, 64), &generator),
      bias: GradientCheck.randomTensor(Shape(64), &generator), padding: .same)
    OneDNNTraining.takesEveryConvolution = true
    defer { OneDNNTraining.takesEveryConvolution = false }
    var runs: [(Tensor, Tensor, Tensor, Tensor)] = []
    for threads in [1, 2, 3] {
      cvz_set_threads(Int32(threads))
      let run = try step(conv, input: input, relu: true, seed: 11)
      XCTAssertNotNil(run.layer.oneDNNTraining)
      runs.append((run.output, run.dInput, run.dKernel, run.dBias))
    }
    for run in runs.dropFirst() {
      XCTAssertEqual(run.0, runs[0].0)
      XCTAssertEqual(run.1, runs[0].1)
      XCTAssertEqual(run.2, runs[0].2)
      XCTAssertEqual(run.3, runs[0].3)
    }
    var layer = conv
    _ = try layer.forward([input], mode: .training, folding: [])
    let made = try XCTUnwrap(layer.oneDNNTraining)
    _ = try layer.forward([input], mode: .training, folding: [])
    XCTAssertTrue(layer.oneDNNTraining === made, "kept for the same shape")
    _ = try layer.forward([input.samples(0..<4)], mode: .training, folding: [])
    XCTAssertFalse(layer.oneDNNTraining === made, "another batch, other primitives")
    _ = try layer.forward([input], mode: .inference, folding: [])
    XCTAssertNil(layer.oneDNNTraining, "inference drops them")
  }

  /// Which layers train on oneDNN: plain ones with 2 or more input channels
  /// on AVX-512 (a colour network's first layer too, not a grayscale one's);
  /// never grouped or dilated ones, nor with oneDNN switched off.
  func testRule() throws {
    try skipUnlessUsable()
    func geometry(cin: Int, groups: Int = 1, dilation: Int32 = 1) -> cvz_grouped_conv_geometry {
      var g = cvz_grouped_conv_geometry()
      g.base.in_channels = Int32(cin)
      g.groups = Int32(groups)
      g.dilation_y = dilation
      g.dilation_x = dilation
      return g
    }
    let wide = OneDNNTraining.instructionSet.hasPrefix("avx512")
    XCTAssertEqual(OneDNNTraining.takes(geometry(cin: 32)), wide)
    XCTAssertEqual(OneDNNTraining.takes(geometry(cin: 3)), wide)
    XCTAssertFalse(OneDNNTraining.takes(geometry(cin: 1)))
    XCTAssertFalse(OneDNNTraining.takes(geometry(cin: 32, groups: 2)))
    XCTAssertFalse(OneDNNTraining.takes(geometry(cin: 32, dilation: 2)))
    OneDNN.isEnabled = false
    XCTAssertFalse(OneDNNTraining.takes(geometry(cin: 32)))
    OneDNN.isEnabled = true
  }

  /// The same agreement with oneDNN capped at AVX2 (a child process,
  /// `runCappedAtAVX2`), when this CPU has wider kernels: oneDNN's AVX2
  /// direct kernels, no Winograd, 8-channel blocks (folded pooling and the
  /// layouts convolutions hand over included).
  func testAgreesWithKernelsCappedAtAVX2() throws {
    try skipUnlessUsable()
    let text = try runCappedAtAVX2(
      [
        "EngineTests.OneDNNTrainingConv2DTests/testAgreesWithKernels",
        "EngineTests.OneDNNTrainingConv2DTests/testFoldedMaxPoolingAgreesWithKernels",
        "EngineTests.OneDNNTrainingLayoutTests/"
          + "testConvolutionPairsHandOverTheirLayoutWithTheSameBits",
      ].joined(separator: ","),
      instructionSet: OneDNNTraining.instructionSet)
    XCTAssertTrue(text.contains("training on avx2:"), "the child ran capped at AVX2:\n\(text)")
    XCTAssertTrue(text.contains("Executed 3 tests"), text)
    XCTAssertFalse(text.contains("skipped"), text)
  }
}
