import Tensors
import XCTest

@testable import Engine

/// A parameter's gradient is made when first written: a network run only
/// forward (an imported model predicting) holds its weights once.
final class ParameterTests: XCTestCase {
  func testGradientIsMadeWhenFirstWritten() throws {
    var layer = Dense(
      kernel: Tensor(shape: Shape(3, 2), storage: [1, 2, 3, 4, 5, 6]),
      bias: Tensor(shape: Shape(2), storage: [0.5, -1]))
    let input = Tensor(shape: Shape(2, 3), storage: [1, 0, -1, 2, 1, 0])
    _ = try layer.forward(input, mode: .inference)
    XCTAssertNil(layer.kernel.accumulated)
    // Read before any write: zeros of the value's shape, still not kept.
    XCTAssertEqual(layer.kernel.grad, Tensor(zeros: Shape(3, 2)))
    XCTAssertNil(layer.kernel.accumulated)

    _ = try layer.forward(input, mode: .training)
    _ = try layer.backward(Tensor(shape: Shape(2, 2), storage: [1, 0, 0, 1]))
    // dW = inputᵀ·dOutput, worked by hand: rows [1·1, 2·1], [0, 1], [−1, 0].
    XCTAssertEqual(layer.kernel.accumulated?.storage, [1, 2, 0, 1, -1, 0])
    XCTAssertEqual(layer.bias.grad.storage, [1, 1])
    layer.kernel.grad.zero()
    XCTAssertEqual(layer.kernel.accumulated?.storage, [0, 0, 0, 0, 0, 0])
  }
}
