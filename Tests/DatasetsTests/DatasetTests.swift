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

  func testBatchGathersSamplesByIndex() {
    let (images, labels) = numbered(5).batch([4, 1, 1])
    XCTAssertEqual(images.shape, Shape(3, 1, 1, 2))
    XCTAssertEqual(images.storage, [8, 9, 2, 3, 2, 3])
    XCTAssertEqual(labels, [1, 1, 1])
  }

  func testPrefixAndClassCounts() {
    let data = numbered(7)
    XCTAssertEqual(data.prefix(4).labels, [0, 1, 2, 0])
    XCTAssertEqual(data.prefix(100).count, 7)
    XCTAssertEqual(data.classCounts, [3, 2, 2])
    XCTAssertEqual(data.sampleShape, Shape(1, 1, 2))
  }
}
