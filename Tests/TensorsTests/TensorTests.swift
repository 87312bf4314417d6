import Tensors
import XCTest

final class ShapeTests: XCTestCase {
  func testCountRankAndDescription() {
    let shape = Shape(2, 3, 4, 5)
    XCTAssertEqual(shape.rank, 4)
    XCTAssertEqual(shape.count, 120)
    XCTAssertEqual(shape[2], 4)
    XCTAssertEqual(shape.description, "(2, 3, 4, 5)")
    XCTAssertEqual(Shape([2, 3, 4, 5]), shape)
  }

  func testScalarShapeHasOneElement() {
    XCTAssertEqual(Shape([]).count, 1)
    XCTAssertEqual(Shape([]).rank, 0)
  }

  func testSubscriptSetterChangesOneAxis() {
    var shape = Shape(1, 28, 28)
    shape[0] = 32
    XCTAssertEqual(shape, Shape(32, 28, 28))
  }
}

final class TensorTests: XCTestCase {
  /// (2, 3, 2, 2) holding 0, 1, 2, … in row-major order.
  private let counting = Tensor(shape: Shape(2, 3, 2, 2), storage: (0..<24).map(Float.init))

  func testOffsetIsRowMajorNCHW() {
    XCTAssertEqual(counting.offset(n: 0, c: 0, y: 0, x: 1), 1)
    XCTAssertEqual(counting.offset(n: 0, c: 0, y: 1, x: 0), 2)
    XCTAssertEqual(counting.offset(n: 0, c: 1, y: 0, x: 0), 4)
    XCTAssertEqual(counting.offset(n: 1, c: 2, y: 1, x: 1), 23)
    XCTAssertEqual(counting.storage[counting.offset(n: 1, c: 0, y: 1, x: 0)], 14)
  }

  func testBatchAndSampleShape() {
    XCTAssertEqual(counting.batchCount, 2)
    XCTAssertEqual(counting.sampleShape, Shape(3, 2, 2))
    XCTAssertEqual(counting.count, 24)
  }

  func testSamplesTakesWholeSamples() {
    let second = counting.samples(1..<2)
    XCTAssertEqual(second.shape, Shape(1, 3, 2, 2))
    XCTAssertEqual(second.storage, (12..<24).map(Float.init))
    XCTAssertEqual(counting.samples(0..<0).shape, Shape(0, 3, 2, 2))
  }

  func testConcatenatingSamplesUndoesSplitting() {
    let parts = [counting.samples(0..<1), counting.samples(1..<2)]
    XCTAssertEqual(Tensor.concatenatingSamples(parts), counting)
  }

  func testReshapedKeepsElementOrder() {
    let flat = counting.reshaped(Shape(2, 12))
    XCTAssertEqual(flat.shape, Shape(2, 12))
    XCTAssertEqual(flat.storage, counting.storage)
  }

  func testZerosAndRepeating() {
    XCTAssertEqual(Tensor(zeros: Shape(2, 2)).storage, [0, 0, 0, 0])
    XCTAssertEqual(Tensor(shape: Shape(3), repeating: 1.5).storage, [1.5, 1.5, 1.5])
  }

  func testUninitializedRunsTheInitializerOverEveryElement() {
    let t = Tensor(uninitialized: Shape(2, 3)) { buffer in
      for i in buffer.indices { buffer[i] = Float(i * i) }
    }
    XCTAssertEqual(t.storage, [0, 1, 4, 9, 16, 25])
  }

  func testArithmetic() {
    var a = Tensor(shape: Shape(3), storage: [1, 2, 3])
    a += Tensor(shape: Shape(3), storage: [10, 20, 30])
    XCTAssertEqual(a.storage, [11, 22, 33])
    a *= 2
    XCTAssertEqual(a.storage, [22, 44, 66])
    a.zero()
    XCTAssertEqual(a, Tensor(zeros: Shape(3)))
  }

  func testMaxAbsoluteDifference() {
    let a = Tensor(shape: Shape(3), storage: [1, -2, 3])
    let b = Tensor(shape: Shape(3), storage: [1.5, -4, 3])
    XCTAssertEqual(a.maxAbsoluteDifference(to: b), 2)
    XCTAssertEqual(a.maxAbsoluteDifference(to: a), 0)
  }

  func testArgmaxPerSampleTakesTheFirstMaximum() {
    let logits = Tensor(shape: Shape(3, 4), storage: [0, 5, 1, 5, -1, -2, -3, -0.5, 7, 7, 7, 7])
    XCTAssertEqual(logits.argmaxPerSample(), [1, 3, 0])
  }
}
