import Datasets
import Foundation
import Tensors
import XCTest

final class MNISTTests: XCTestCase {
  func testLoadsGzipFolderAsScaledNCHW() throws {
    let splits = try MNIST.load(folder: fixturePath("mnist5"))
    XCTAssertEqual(splits.format, .mnist)
    XCTAssertNil(splits.test, "the fixture has no t10k files")
    let train = splits.train
    XCTAssertEqual(train.images.shape, Shape(5, 1, 28, 28))
    XCTAssertEqual(train.labels, [5, 0, 4, 1, 9])
    XCTAssertEqual(train.classNames, (0...9).map(String.init))
    let raw = try [UInt8](
      Data(
        contentsOf: URL(
          fileURLWithPath: fixturePath(
            "mnist-train-image3.raw"))))
    let image3 = Array(train.images.storage[(3 * 784)..<(4 * 784)])
    XCTAssertEqual(image3, raw.map { Float($0) / 255 })
    XCTAssertEqual(train.images.storage.max(), 1)
    XCTAssertEqual(train.images.storage.min(), 0)
  }

  func testAcceptsRawNamesAndTestSplit() throws {
    let folder = try TemporaryFolder()
    let pixels = (0..<(3 * 4)).map { UInt8($0 * 20) }
    try folder.write(idxBytes(dims: [3, 2, 2], payload: pixels), to: "train-images-idx3-ubyte")
    try folder.write(idxBytes(dims: [3], payload: [2, 7, 1]), to: "train-labels-idx1-ubyte")
    try folder.write(
      idxBytes(dims: [1, 2, 2], payload: [0, 51, 102, 255]),
      to: "t10k-images-idx3-ubyte")
    try folder.write(idxBytes(dims: [1], payload: [3]), to: "t10k-labels-idx1-ubyte")
    let splits = try DatasetSplits.load(folder.path)
    XCTAssertEqual(splits.format, .mnist)
    XCTAssertEqual(splits.train.labels, [2, 7, 1])
    XCTAssertEqual(splits.train.images.shape, Shape(3, 1, 2, 2))
    XCTAssertEqual(splits.test?.labels, [3])
    XCTAssertEqual(splits.test?.images.storage, [0, 51 / 255, 102 / 255, 1])
  }

  /// With a limit nothing past the kept samples is inflated, so damage
  /// there goes unnoticed, while both headers are still checked.
  func testLimitReadsOnlyTheKeptSamplesButChecksBothHeaders() throws {
    let folder = try TemporaryFolder()
    try folder.write(
      try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixturePath("truncated-idx3-ubyte.gz")))),
      to: "train-images-idx3-ubyte.gz")
    try folder.write(idxBytes(dims: [5], payload: [5, 0, 4, 1, 9]), to: "train-labels-idx1-ubyte")
    let splits = try DatasetSplits.load(folder.path, limit: 1)
    XCTAssertEqual(splits.train.labels, [5])
    XCTAssertEqual(splits.train.images.shape, Shape(1, 1, 28, 28))
    XCTAssertThrowsError(try DatasetSplits.load(folder.path))
    let labels = try folder.write(
      idxBytes(dims: [4], payload: [5, 0, 4, 1]), to: "train-labels-idx1-ubyte")
    XCTAssertThrowsDatasetError(
      try MNIST.load(folder: folder.path, limit: 1),
      .countMismatch(
        imagesPath: folder.path + "/train-images-idx3-ubyte.gz", images: 5, labelsPath: labels,
        labels: 4))
  }

  func testImageAndLabelCountsMustMatch() throws {
    let folder = try TemporaryFolder()
    let images = try folder.write(
      idxBytes(dims: [3, 2, 2], payload: [UInt8](repeating: 0, count: 12)),
      to: "train-images-idx3-ubyte")
    let labels = try folder.write(
      idxBytes(dims: [2], payload: [1, 2]), to: "train-labels-idx1-ubyte")
    XCTAssertThrowsDatasetError(
      try MNIST.load(folder: folder.path),
      .countMismatch(imagesPath: images, images: 3, labelsPath: labels, labels: 2))
  }

  func testMissingLabelsAndBadLabels() throws {
    let folder = try TemporaryFolder()
    try folder.write(
      idxBytes(dims: [1, 2, 2], payload: [0, 0, 0, 0]), to: "train-images-idx3-ubyte")
    XCTAssertThrowsDatasetError(
      try MNIST.load(folder: folder.path),
      .missingFile(
        path: folder.path, expected: "train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz"))
    let labels = try folder.write(idxBytes(dims: [1], payload: [10]), to: "train-labels-idx1-ubyte")
    XCTAssertThrowsDatasetError(
      try MNIST.load(folder: folder.path),
      .labelOutOfRange(path: labels, label: 10, classCount: 10))
  }

  func testSwappedFilesAreNamedInTheError() throws {
    let folder = try TemporaryFolder()
    let images = try folder.write(
      idxBytes(dims: [2], payload: [0, 0]), to: "train-images-idx3-ubyte")
    try folder.write(idxBytes(dims: [2], payload: [0, 0]), to: "train-labels-idx1-ubyte")
    XCTAssertThrowsDatasetError(
      try MNIST.load(folder: folder.path),
      .unexpectedShape(
        path: images, found: "uint8 of shape (2)",
        expected: "unsigned bytes of shape (N, rows, columns)"))
  }
}
