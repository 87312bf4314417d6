import Engine
import Tensors
import XCTest

/// The one output-size formula, O = ⌊(I − D·(F−1) − 1 + P)/S⌋ + 1, and
/// TensorFlow's `same` split, as the engine uses them.
final class PaddingTests: XCTestCase {
  func testValidSameAndExplicitAlongOneAxis() throws {
    let valid = try XCTUnwrap(
      Padding.valid.window(along: .vertical, input: 28, window: 3, stride: 1))
    XCTAssertEqual(valid.output, 26)
    XCTAssertEqual(valid.before + valid.after, 0)
    XCTAssertNil(Padding.valid.window(along: .vertical, input: 2, window: 3, stride: 1))
    // same, I = 7, S = 2, F = 4: O = 4, total (4−1)·2 + 4 − 7 = 3, split 1 before, 2 after.
    let same = try XCTUnwrap(
      Padding.same.window(along: .horizontal, input: 7, window: 4, stride: 2))
    XCTAssertEqual([same.output, same.before, same.after], [4, 1, 2])
    // Dilation 2 spans 5 cells: total (5−1)·1 + 5 − 5 = 4.
    let dilated = try XCTUnwrap(
      Padding.same.window(along: .vertical, input: 5, window: 3, stride: 1, dilation: 2))
    XCTAssertEqual([dilated.output, dilated.before, dilated.after], [5, 2, 2])
    let explicit = Padding.explicit(top: 1, bottom: 2, left: 3, right: 0)
    let rows = try XCTUnwrap(explicit.window(along: .vertical, input: 4, window: 3, stride: 2))
    XCTAssertEqual([rows.output, rows.before, rows.after], [3, 1, 2], "⌊(4 − 3 + 3)/2⌋ + 1")
    let columns = try XCTUnwrap(explicit.window(along: .horizontal, input: 4, window: 3, stride: 2))
    XCTAssertEqual([columns.output, columns.before, columns.after], [3, 3, 0])
    XCTAssertEqual(
      [Padding.valid, .same, .symmetric(2), explicit].map(\.description),
      ["valid", "same", "2", "1,2,3,0"])
  }

  func testConvolutionAndPoolingTakeExplicitPadding() throws {
    var generator = SeededGenerator(seed: 1)
    let conv = Conv2D(
      inputChannels: 1, filters: 2, kernelSize: (3, 3),
      padding: .explicit(top: 1, bottom: 2, left: 3, right: 0), generator: &generator)
    XCTAssertEqual(try conv.outputShape(for: Shape(1, 4, 4)), Shape(2, 5, 5))
    let pool = Pooling2D(.max, poolSize: (2, 2), padding: .symmetric(1))
    XCTAssertEqual(try pool.outputShape(for: Shape(3, 5, 4)), Shape(3, 3, 3))
    let x = GradientCheck.randomTensor(Shape(2, 3, 5, 4), &generator)
    var layer = pool
    XCTAssertEqual(
      try layer.forward(x, mode: .inference),
      pooling2dForwardReference(
        input: x, reduction: .max, poolSize: (2, 2), strides: (2, 2), padding: .symmetric(1)))
  }
}
