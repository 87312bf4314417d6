import Datasets
import Tensors
import XCTest

final class CIFAR10Tests: XCTestCase {
  /// A record: label, then 1024 red, 1024 green, 1024 blue bytes.
  private func record(label: UInt8, red: UInt8, green: UInt8, blue: UInt8) -> [UInt8] {
    [label] + [UInt8](repeating: red, count: 1024) + [UInt8](repeating: green, count: 1024)
      + [UInt8](repeating: blue, count: 1024)
  }

  func testLoadsBatchesInOrderWithTestSplit() throws {
    let folder = try TemporaryFolder()
    try folder.write(
      record(label: 3, red: 255, green: 0, blue: 51) + record(label: 9, red: 0, green: 0, blue: 0),
      to: "cifar-10-batches-bin/data_batch_1.bin")
    try folder.write(
      record(label: 1, red: 0, green: 255, blue: 0), to: "cifar-10-batches-bin/data_batch_2.bin")
    try folder.write(
      record(label: 0, red: 1, green: 2, blue: 3), to: "cifar-10-batches-bin/test_batch.bin")
    XCTAssertEqual(try DatasetFormat.detect(folder.path), .cifar10)
    let splits = try CIFAR10.load(folder: folder.path)
    XCTAssertEqual(splits.train.images.shape, Shape(3, 3, 32, 32))
    XCTAssertEqual(splits.train.labels, [3, 9, 1])
    XCTAssertEqual(splits.train.classNames[3], "cat")
    let images = splits.train.images
    XCTAssertEqual(images.storage[images.offset(n: 0, c: 0, y: 5, x: 7)], 1)
    XCTAssertEqual(images.storage[images.offset(n: 0, c: 1, y: 5, x: 7)], 0)
    XCTAssertEqual(images.storage[images.offset(n: 0, c: 2, y: 31, x: 31)], 0.2, accuracy: 1e-6)
    XCTAssertEqual(images.storage[images.offset(n: 2, c: 1, y: 0, x: 0)], 1)
    XCTAssertEqual(splits.test?.labels, [0])
  }

  func testPartialRecordIsMalformed() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      record(label: 1, red: 0, green: 0, blue: 0) + [7, 7], to: "data_batch_1.bin")
    XCTAssertThrowsDatasetError(
      try CIFAR10.load(folder: folder.path),
      .partialRecord(path: path, length: 3075, recordSize: 3073))
  }

  func testLimitStopsReadingButChecksRawLengths() throws {
    let folder = try TemporaryFolder()
    try folder.write(
      record(label: 3, red: 1, green: 0, blue: 0) + record(label: 4, red: 2, green: 0, blue: 0),
      to: "data_batch_1.bin")
    try folder.write(record(label: 5, red: 3, green: 0, blue: 0), to: "data_batch_2.bin")
    XCTAssertEqual(try DatasetSplits.load(folder.path, limit: 1).train.labels, [3])
    XCTAssertEqual(try DatasetSplits.load(folder.path, limit: 3).train.labels, [3, 4, 5])
    XCTAssertEqual(try DatasetSplits.load(folder.path, limit: 9).train.labels, [3, 4, 5])
    let partial = try folder.write(
      record(label: 1, red: 0, green: 0, blue: 0) + [7], to: "data_batch_1.bin")
    XCTAssertThrowsDatasetError(
      try DatasetSplits.load(folder.path, limit: 1),
      .partialRecord(path: partial, length: 3074, recordSize: 3073))
  }

  func testLabelOutOfRange() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      record(label: 10, red: 0, green: 0, blue: 0), to: "data_batch_1.bin")
    XCTAssertThrowsDatasetError(
      try CIFAR10.load(folder: folder.path), .labelOutOfRange(path: path, label: 10, classCount: 10)
    )
  }

  func testTestBatchAloneIsNotATrainingSet() throws {
    let folder = try TemporaryFolder()
    try folder.write(record(label: 1, red: 0, green: 0, blue: 0), to: "test_batch.bin")
    XCTAssertThrowsDatasetError(
      try CIFAR10.load(folder: folder.path),
      .missingFile(path: folder.path, expected: "data_batch_1.bin … data_batch_5.bin"))
  }
}
