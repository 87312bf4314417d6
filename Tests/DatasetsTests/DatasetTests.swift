import Datasets
import Tensors
import XCTest

final class DatasetTests: XCTestCase {
  private func numbered(_ n: Int) -> Dataset {
    let storage = (0..<(n * 2)).map(Float.init)
    return Dataset(
      images: Tensor(shape: Shape(n, 1, 1, 2), storage: storage), labels: (0..<n).map { $0 % 3 },
      classNames: ["a", "b", "c"])
  }

  func testValidationSplitTakesTheLastFraction() {
    let (train, validation) = numbered(10).splitValidation(fraction: 0.3)
    XCTAssertEqual(train.count, 7)
    XCTAssertEqual(validation.count, 3)
    XCTAssertEqual(validation.labels, [1, 2, 0])
    XCTAssertEqual(validation.images.storage, [14, 15, 16, 17, 18, 19])
    XCTAssertEqual(validation.images.shape, Shape(3, 1, 1, 2))
  }

  func testMNISTSplitSizesMatchKeras() {
    // Keras: split_at = int(60000 * (1 - 0.1)) = 54000.
    let cut = Int(Double(60000) * (1 - 0.1))
    XCTAssertEqual(cut, 54000)
    let (train, validation) = numbered(100).splitValidation(fraction: 0.1)
    XCTAssertEqual([train.count, validation.count], [90, 10])
  }

  func testPrefixAndClassCounts() {
    let data = numbered(7)
    XCTAssertEqual(data.prefix(4).labels, [0, 1, 2, 0])
    XCTAssertEqual(data.prefix(100).count, 7)
    XCTAssertEqual(data.classCounts, [3, 2, 2])
    XCTAssertEqual(data.sampleShape, Shape(1, 1, 2))
  }
}
