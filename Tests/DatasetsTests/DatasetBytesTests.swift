import Foundation
import ImageCodecs
import Tensors
import XCTest

@testable import Datasets

/// Data sets from 8-bit pixels are held as bytes and become the same
/// floats as before only when a batch is gathered.
final class DatasetBytesTests: XCTestCase {
  private func pair(seed: UInt64) -> (bytes: Dataset, floats: Dataset) {
    var generator = SeededGenerator(seed: seed)
    let shape = Shape(7, 3, 4, 5)
    let raw = (0..<shape.count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    let labels = (0..<7).map { $0 % 3 }
    let bytes = Dataset(bytes: raw, shape: shape, labels: labels, classNames: ["a", "b", "c"])
    let floats = Dataset(
      images: Tensor(shape: shape, storage: raw.map { Float($0) / 255 }), labels: labels,
      classNames: ["a", "b", "c"])
    return (bytes, floats)
  }

  func testBytesGiveExactlyTheFloatsOfDivisionBy255() {
    let (bytes, floats) = pair(seed: 1)
    XCTAssertTrue(bytes.holdsBytes)
    XCTAssertFalse(floats.holdsBytes)
    XCTAssertEqual(bytes.images, floats.images)
    XCTAssertEqual(bytes, floats)
    let indices = [6, 0, 3, 3]
    XCTAssertEqual(bytes.batch(indices).images, floats.batch(indices).images)
    XCTAssertEqual(bytes.batch(indices).labels, floats.batch(indices).labels)
    XCTAssertTrue(bytes.slice(2..<5).holdsBytes)
    XCTAssertEqual(bytes.slice(2..<5).images, floats.slice(2..<5).images)
    XCTAssertTrue(bytes.selecting([4, 1]).holdsBytes)
    XCTAssertEqual(bytes.selecting([4, 1]).images, floats.selecting([4, 1]).images)
    XCTAssertEqual(floats.compacted().sampleBytes, bytes.sampleBytes)
  }

  func testFloatsThatAreNotBytesStayFloats() {
    var (_, floats) = pair(seed: 2)
    floats.images.storage[5] += 1e-3
    XCTAssertFalse(floats.compacted().holdsBytes)
    XCTAssertNil(PixelConversion.exactBytes([0.5]))
    XCTAssertNil(PixelConversion.exactBytes([-0.0001]))
    XCTAssertEqual(PixelConversion.exactBytes([0, 1, Float(128) / 255]), [0, 255, 128])
  }

  func testMNISTAndCIFARAreHeldAsBytes() throws {
    let cifar = try TemporaryFolder()
    var record: [UInt8] = [3]
    record += (0..<3072).map { UInt8($0 % 251) }
    try cifar.write(record + record, to: "data_batch_1.bin")
    let loaded = try CIFAR10.load(folder: cifar.path)
    XCTAssertTrue(loaded.train.holdsBytes)
    XCTAssertEqual(
      loaded.train.images.storage[0..<3072].map { $0 }, record.dropFirst().map { Float($0) / 255 })

    let mnist = try TemporaryFolder()
    try mnist.write(
      idxBytes(dims: [2, 2, 2], payload: [0, 64, 128, 255, 1, 2, 3, 4]),
      to: "train-images-idx3-ubyte")
    try mnist.write(idxBytes(dims: [2], payload: [1, 0]), to: "train-labels-idx1-ubyte")
    let digits = try MNIST.load(folder: mnist.path)
    XCTAssertTrue(digits.train.holdsBytes)
    XCTAssertEqual(
      digits.train.images.storage, [0, 64, 128, 255, 1, 2, 3, 4].map { Float($0) / 255 })
  }

  func testImageFolderKeepsBytesOnlyWhenExactWhateverTheChunking() throws {
    let folder = try TemporaryFolder()
    var generator = SeededGenerator(seed: 5)
    for i in 0..<6 {
      let samples = (0..<(3 * 2 * 3)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
      let image = Image(width: 3, height: 2, layout: .rgb, samples: samples)
      try folder.write(try ImageFile.encode(image, as: .png), to: "c\(i % 2)/\(i).png")
    }
    let rgb = try ImageFolder.load(folder: folder.path, channels: 3, seed: 1)
    XCTAssertTrue(rgb.train.holdsBytes)
    let luma = try ImageFolder.load(folder: folder.path, channels: 1, seed: 1)
    XCTAssertFalse(luma.train.holdsBytes, "luma values are not k/255")

    // A 16-bit image among 8-bit ones: whichever chunk it lands in, floats,
    // and the same values as decoding all at once.
    let deep: [UInt16] = (0..<18).map { (i: Int) -> UInt16 in UInt16(i * 3001 + 7) }
    try folder.write(
      try ImageFile.encode(Image(width: 3, height: 2, layout: .rgb, samples16: deep), as: .png),
      to: "c1/deep.png")
    let whole = try ImageFolder.load(folder: folder.path, channels: 3, seed: 1)
    XCTAssertFalse(whole.train.holdsBytes)
    var oneAtATime = ImageFolderReading(threads: 2)
    oneAtATime.chunkBytes = 1
    let chunked = try ImageFolder.load(
      folder: folder.path, channels: 3, seed: 1, reading: oneAtATime)
    XCTAssertFalse(chunked.train.holdsBytes)
    XCTAssertEqual(chunked.train.images, whole.train.images)
    XCTAssertEqual(chunked.train.labels, whole.train.labels)
  }
}
