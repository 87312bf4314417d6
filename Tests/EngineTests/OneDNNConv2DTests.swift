import Foundation
import Tensors
import XCTest
import _Runtime

@testable import Engine

/// The oneDNN inference convolution against the `_CNNKernels` paths it
/// stands in for, on every kind of convolution the engine runs.
final class OneDNNConv2DTests: XCTestCase {
  typealias Case = ConvolutionCase

  /// Plain, grouped, depthwise and dilated convolutions; 1×1 to 7×7
  /// kernels; strides 1 and 2 and unequal ones; symmetric, `same`, valid
  /// and asymmetric padding; batches of 1 and more; 1 and 3 input channels
  /// (first layers) and channel counts the blocked kernels take.
  static let cases: [Case] = {
    var cases: [Case] = []
    let pads: [Padding] = [
      .valid, .same, .symmetric(1), .explicit(top: 2, bottom: 0, left: 1, right: 3),
    ]
    for (cin, cout, groups) in [
      (1, 8, 1), (3, 16, 1), (16, 32, 1), (24, 16, 1), (32, 32, 32), (8, 16, 8), (16, 16, 4),
    ] {
      for (k, stride) in [(1, 1), (3, 1), (3, 2), (5, 1), (7, 2)] {
        for (p, padding) in pads.enumerated() {
          let n = (k + p) % 2 == 0 ? 1 : 3
          cases.append(
            Case(
              n: n, cin: cin, h: 13 + p, w: 11 + k, cout: cout, kh: k, kw: k, sy: stride,
              sx: stride, groups: groups, dy: 1, dx: 1, padding: padding))
        }
      }
    }
    // Dilations (grouped and not), unequal strides and kernels.
    cases += [
      Case(
        n: 2, cin: 16, h: 17, w: 15, cout: 16, kh: 3, kw: 3, sy: 1, sx: 1, groups: 1, dy: 2, dx: 2,
        padding: .symmetric(2)),
      Case(
        n: 1, cin: 3, h: 12, w: 11, cout: 4, kh: 3, kw: 2, sy: 2, sx: 3, groups: 1, dy: 3, dx: 2,
        padding: .explicit(top: 1, bottom: 0, left: 2, right: 1)),
      Case(
        n: 2, cin: 32, h: 9, w: 9, cout: 32, kh: 3, kw: 3, sy: 1, sx: 1, groups: 32, dy: 2, dx: 2,
        padding: .same),
      Case(
        n: 3, cin: 16, h: 10, w: 12, cout: 24, kh: 1, kw: 3, sy: 2, sx: 1, groups: 2, dy: 1, dx: 1,
        padding: .same),
      Case(
        n: 1, cin: 64, h: 28, w: 28, cout: 64, kh: 3, kw: 3, sy: 1, sx: 1, groups: 1, dy: 1, dx: 1,
        padding: .symmetric(1)),
    ]
    return cases
  }()

  private func skipUnlessUsable() throws { try OneDNNTesting.skipUnlessUsable() }

  /// Every case, with and without a folded ReLU, through oneDNN and through
  /// the hand-written kernels: equal to 1e-5 of the output's scale.
  func testAgreesWithKernels() throws {
    try skipUnlessUsable()
    let wasEnabled = OneDNN.isEnabled
    OneDNN.leavesSmallConvolutionsToKernels = false
    defer {
      OneDNN.isEnabled = wasEnabled
      OneDNN.leavesSmallConvolutionsToKernels = true
    }
    var generator = SeededGenerator(seed: 31)
    var implementations = Set<String>()
    for c in Self.cases {
      for relu in [false, true] {
        let (input, kernel, bias) = c.randomTensors(&generator)
        var conv = c.layer(kernel: kernel, bias: bias)
        let stages: [FusionRole] = relu ? [.relu] : []
        OneDNN.isEnabled = true
        let fast = try conv.forward([input], mode: .inference, folding: stages)
        let implementation = try XCTUnwrap(conv.oneDNN?.implementation, "\(c)")
        implementations.insert(implementation)
        OneDNN.isEnabled = false
        let kernels = try conv.forward([input], mode: .inference, folding: stages)
        XCTAssertNil(conv.oneDNN, "off means off: \(c)")
        XCTAssertEqual(fast.folded, kernels.folded, "\(c)")
        XCTAssertEqual(fast.output.shape, kernels.output.shape, "\(c)")
        let scale = max(1, kernels.output.storage.map(abs).max() ?? 0)
        XCTAssertLessThanOrEqual(
          fast.output.maxAbsoluteDifference(to: kernels.output), 1e-5 * scale,
          "\(c) relu \(relu) on \(implementation)")
      }
    }
    print("oneDNN \(OneDNN.version) on \(OneDNN.instructionSet): \(implementations.sorted())")
    if OneDNN.instructionSet.hasPrefix("avx512") {
      XCTAssertTrue(
        implementations.contains { $0.contains("wino") }, "Winograd where it applies")
    }
  }

  /// The primitive is made once per shape and kept; a new shape, a new
  /// thread count or new weights make a new one, and the output follows
  /// the new weights.
  func testPrimitiveIsKeptUntilShapeOrWeightsChange() throws {
    try skipUnlessUsable()
    OneDNN.leavesSmallConvolutionsToKernels = false
    defer { OneDNN.leavesSmallConvolutionsToKernels = true }
    var generator = SeededGenerator(seed: 37)
    let kernel = GradientCheck.randomTensor(Shape(3, 3, 8, 8), &generator)
    var conv = Conv2D(
      kernel: kernel, bias: Tensor(zeros: Shape(8)), padding: .same)
    let input = GradientCheck.randomTensor(Shape(2, 8, 6, 6), &generator)
    let first = try conv.forward(input, mode: .inference)
    let made = try XCTUnwrap(conv.oneDNN)
    XCTAssertEqual(try conv.forward(input, mode: .inference).storage, first.storage)
    XCTAssertTrue(conv.oneDNN === made, "kept for the same shape")
    _ = try conv.forward(input.samples(0..<1), mode: .inference)
    XCTAssertFalse(conv.oneDNN === made, "another batch size, another primitive")

    conv.kernel.value.storage[0] += 1
    let changed = try conv.forward(input, mode: .inference)
    let expected = conv2dForwardReference(
      input: input, kernel: conv.kernel.value, bias: conv.bias.value, strides: (1, 1),
      padding: .same)
    XCTAssertLessThan(changed.maxAbsoluteDifference(to: expected), 1e-4)
    XCTAssertGreaterThan(changed.maxAbsoluteDifference(to: first), 0.1)

    // Training keeps the hand-written kernels, and drops the primitive.
    _ = try conv.forward(input, mode: .training)
    XCTAssertNil(conv.oneDNN)
  }

  /// Small convolutions the direct kernels take stay on them, unless
  /// oneDNN has Winograd for them on this CPU; others of the same size go
  /// to oneDNN; `.inferenceWithGradients` takes the same
  /// path as `.inference` (the same bits), and its backward is right.
  func testSmallDirectConvolutionsStayOnKernels() throws {
    try skipUnlessUsable()
    var generator = SeededGenerator(seed: 41)
    var small = Conv2D(
      kernel: GradientCheck.randomTensor(Shape(3, 3, 8, 16), &generator),
      bias: Tensor(zeros: Shape(16)), padding: .same)
    let input = GradientCheck.randomTensor(Shape(2, 8, 12, 12), &generator)
    _ = try small.forward(input, mode: .inference)
    XCTAssertNil(small.oneDNN, "8 → 16 channels, 3×3 at 12×12: the kernels'")
    // 16·k channels, 3×3, stride 1: Winograd on AVX-512.
    var winograd = Conv2D(
      kernel: GradientCheck.randomTensor(Shape(3, 3, 16, 32), &generator),
      bias: GradientCheck.randomTensor(Shape(32), &generator), padding: .same)
    let wide = GradientCheck.randomTensor(Shape(2, 16, 12, 12), &generator)
    let output = try winograd.forward(wide, mode: .inference)
    if OneDNN.instructionSet.hasPrefix("avx512") {
      let made = try XCTUnwrap(winograd.oneDNN, "16 → 32 channels on AVX-512: oneDNN's")
      XCTAssertTrue(made.implementation.contains("wino"), made.implementation)
    } else {
      XCTAssertNil(winograd.oneDNN, "16 → 32 channels below AVX-512: the kernels'")
    }
    let expected = conv2dForwardReference(
      input: wide, kernel: winograd.kernel.value, bias: winograd.bias.value, strides: (1, 1),
      padding: .same)
    XCTAssertLessThan(output.maxAbsoluteDifference(to: expected), 1e-4)
    // From 20M multiply-adds an image, oneDNN's direct kernels (Winograd's
    // weights would cost memory): 64 → 64 at 56×56 is 116M.
    var large = Conv2D(
      kernel: GradientCheck.randomTensor(Shape(3, 3, 64, 64), &generator),
      bias: Tensor(zeros: Shape(64)), padding: .same)
    _ = try large.forward(
      GradientCheck.randomTensor(Shape(1, 64, 56, 56), &generator), mode: .inference)
    let direct = try XCTUnwrap(large.oneDNN, "116M multiply-adds: oneDNN's")
    XCTAssertFalse(direct.implementation.contains("wino"), direct.implementation)
    var firstLayer = Conv2D(
      kernel: GradientCheck.randomTensor(Shape(3, 3, 3, 16), &generator),
      bias: GradientCheck.randomTensor(Shape(16), &generator), padding: .same)
    let rgb = GradientCheck.randomTensor(Shape(2, 3, 12, 12), &generator)
    let stages: [FusionRole] = [.relu]
    let inference = try firstLayer.forward([rgb], mode: .inference, folding: stages)
    XCTAssertNotNil(firstLayer.oneDNN, "3 input channels: oneDNN's")
    let kept = try firstLayer.forward([rgb], mode: .inferenceWithGradients, folding: stages)
    XCTAssertEqual(kept.output, inference.output)
    let dOutput = GradientCheck.randomTensor(kept.output.shape, &generator)
    let dInput = try firstLayer.backward([dOutput].first!)
    let masked = Tensor(
      shape: dOutput.shape,
      storage: zip(dOutput.storage, kept.output.storage).map { $1 > 0 ? $0 : 0 })
    let reference = conv2dBackwardReference(
      input: rgb, kernel: firstLayer.kernel.value, dOutput: masked, strides: (1, 1),
      padding: .same)
    XCTAssertLessThan(dInput.maxAbsoluteDifference(to: reference.dInput), 1e-4)
  }

  /// The same agreement with oneDNN capped at AVX2 (a child process
  /// running `testAgreesWithKernels`, `runCappedAtAVX2`), when this CPU has
  /// wider kernels.
  func testAgreesWithKernelsCappedAtAVX2() throws {
    try skipUnlessUsable()
    let text = try runCappedAtAVX2(
      "EngineTests.OneDNNConv2DTests/testAgreesWithKernels",
      instructionSet: OneDNN.instructionSet)
    XCTAssertTrue(text.contains("on avx2:"), "the child ran capped at AVX2:\n\(text)")
    XCTAssertTrue(text.contains("Executed 1 test"), text)
    XCTAssertFalse(text.contains("skipped"), text)
  }
}
