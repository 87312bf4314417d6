import Tensors
import XCTest
import _CNNKernels
import _Runtime

@testable import Engine

/// The Conv2D kernels when scratch memory runs out: every allocation, at
/// every size limit, either succeeds and gives the unlimited result or
/// fails with CVZ_STATUS_NO_MEMORY, which `EngineError.check` throws. Never
/// an abort, and a failed backward adds nothing to the gradients.
final class KernelMemoryTests: XCTestCase {
  override func tearDown() { cvz_set_allocation_limit(0) }

  /// One Conv2D call's inputs and outputs as plain arrays.
  private struct Buffers {
    var g: cvz_conv_geometry
    var input, kernel, bias, dOutput: [Float]
    var output: [Float]
    var saved: [Float]
    var dInput, dKernel, dBias: [Float]

    init(batch: Int, inChannels: Int, outChannels: Int, size: Int, seed: UInt64) {
      let out = size - 2
      g = cvz_conv_geometry(
        batch: Int32(batch), in_channels: Int32(inChannels), in_height: Int32(size),
        in_width: Int32(size), out_channels: Int32(outChannels), kernel_height: 3,
        kernel_width: 3, stride_y: 1, stride_x: 1, pad_top: 0, pad_left: 0,
        out_height: Int32(out), out_width: Int32(out))
      var generator = SeededGenerator(seed: seed)
      func random(_ count: Int) -> [Float] {
        (0..<count).map { _ in generator.nextFloat(in: -1, 1) }
      }
      input = random(batch * inChannels * size * size)
      kernel = random(9 * inChannels * outChannels)
      bias = random(outChannels)
      dOutput = random(batch * outChannels * out * out)
      output = Array(repeating: 0, count: batch * outChannels * out * out)
      saved = Array(repeating: 0, count: cvz_conv2d_saved_input_floats(&g))
      dInput = Array(repeating: 0, count: input.count)
      dKernel = Array(repeating: 0, count: kernel.count)
      dBias = Array(repeating: 0, count: outChannels)
    }

    mutating func forward() -> Int32 {
      if saved.isEmpty { return cvz_conv2d_forward(&g, input, kernel, bias, 1, &output, nil) }
      return cvz_conv2d_forward(&g, input, kernel, bias, 1, &output, &saved)
    }

    mutating func backward() -> Int32 {
      if saved.isEmpty {
        return cvz_conv2d_backward(
          &g, input, nil, kernel, dOutput, output, &dInput, &dKernel, &dBias)
      }
      return cvz_conv2d_backward(
        &g, input, saved, kernel, dOutput, output, &dInput, &dKernel, &dBias)
    }
  }

  /// Runs `call` on fresh buffers at limits 1, 2, 4, … bytes until it
  /// succeeds, checking each failure and the first success against `expected`.
  private func sweep(
    _ label: String, make: () -> Buffers, expected: Buffers,
    call: (inout Buffers, Int) -> Int32, compare: (Buffers, Buffers) -> Bool
  ) {
    var failures = 0
    for shift in 0..<40 {
      var buffers = make()
      let status = call(&buffers, 1 << shift)
      cvz_set_allocation_limit(0)
      if status == CVZ_STATUS_OK {
        XCTAssertTrue(compare(buffers, expected), "\(label): result at limit 2^\(shift)")
        XCTAssertGreaterThan(failures, 0, "\(label): the kernel allocates nothing?")
        return
      }
      XCTAssertEqual(status, CVZ_STATUS_NO_MEMORY, label)
      XCTAssertThrowsError(try EngineError.check(status, operation: label)) { error in
        XCTAssertEqual(error as? EngineError, .outOfMemory(operation: label))
      }
      XCTAssertEqual(buffers.dKernel, make().dKernel, "\(label): gradients touched on failure")
      failures += 1
    }
    XCTFail("\(label): never succeeded")
  }

  func testEveryConvolutionPathReportsOutOfMemory() {
    // Direct (8 → 8, whole images and one image split by rows), single input
    // channel (1 → 8), and im2col (8 → 6).
    let cases = [(3, 8, 8), (1, 8, 8), (3, 1, 8), (3, 8, 6)]
    for (batch, cin, cout) in cases {
      let make = { Buffers(batch: batch, inChannels: cin, outChannels: cout, size: 7, seed: 5) }
      var expected = make()
      XCTAssertEqual(expected.forward(), CVZ_STATUS_OK)
      XCTAssertEqual(expected.backward(), CVZ_STATUS_OK)
      let label = "batch \(batch), \(cin) → \(cout)"
      sweep(
        "forward \(label)", make: make, expected: expected,
        call: { buffers, limit in
          cvz_set_allocation_limit(limit)
          return buffers.forward()
        },
        compare: { $0.output == $1.output })
      sweep(
        "backward \(label)", make: make, expected: expected,
        call: { buffers, limit in
          // Forward without a limit, so backward has its saved input.
          _ = buffers.forward()
          cvz_set_allocation_limit(limit)
          return buffers.backward()
        },
        compare: { $0.dKernel == $1.dKernel && $0.dBias == $1.dBias && $0.dInput == $1.dInput })
    }
  }

  func testFusedPoolingReportsOutOfMemory() throws {
    var probe = Buffers(batch: 3, inChannels: 8, outChannels: 8, size: 6, seed: 9).g
    try XCTSkipUnless(cvz_conv2d_pooling_fuses(&probe) != 0, "no AVX2: nothing fuses")
    var pool = cvz_pool_geometry(
      planes: 8, in_height: 4, in_width: 4, pool_height: 2, pool_width: 2, stride_y: 2,
      stride_x: 2, pad_top: 0, pad_left: 0, out_height: 2, out_width: 2)
    func run(limit: Int) -> (forward: Int32, backward: Int32, dKernel: [Float]) {
      var b = Buffers(batch: 3, inChannels: 8, outChannels: 8, size: 6, seed: 9)
      var pooled = [Float](repeating: 0, count: 3 * 8 * 4)
      var argmax = [Int32](repeating: 0, count: pooled.count)
      let dPooled = [Float](repeating: 0.5, count: pooled.count)
      cvz_set_allocation_limit(limit)
      defer { cvz_set_allocation_limit(0) }
      let forward = cvz_conv2d_forward_pooled(
        &b.g, &pool, b.input, b.kernel, b.bias, 1, &pooled, &argmax, &b.saved)
      guard forward == CVZ_STATUS_OK else { return (forward, forward, b.dKernel) }
      let backward = cvz_conv2d_backward_pooled(
        &b.g, &pool, argmax, b.input, b.saved, b.kernel, dPooled, pooled, &b.dInput, &b.dKernel,
        &b.dBias)
      return (forward, backward, b.dKernel)
    }
    let expected = run(limit: 0)
    XCTAssertEqual(expected.backward, CVZ_STATUS_OK)
    var sawFailure = false
    for shift in 0..<40 {
      let result = run(limit: 1 << shift)
      if result.backward == CVZ_STATUS_OK {
        XCTAssertEqual(result.dKernel, expected.dKernel)
        XCTAssertTrue(sawFailure)
        return
      }
      XCTAssertEqual(result.backward, CVZ_STATUS_NO_MEMORY)
      XCTAssertTrue(result.dKernel.allSatisfy { $0 == 0 }, "gradients touched on failure")
      sawFailure = true
    }
    XCTFail("never succeeded")
  }
}
