import Datasets
import Foundation
import ImageCodecs
import Tensors
import XCTest

/// A small PNG of one value, to exercise listing, shuffling, conversion and
/// error reporting with real files.
private func pngImage(
  width: Int = 2, height: Int = 2, layout: Image.Layout = .gray,
  fill: UInt8
) throws -> [UInt8] {
  try pngImage(
    Image(
      width: width, height: height, layout: layout,
      samples: [UInt8](repeating: fill, count: width * height * layout.channels)))
}

private func pngImage(_ image: Image) throws -> [UInt8] {
  try ImageFile.encode(image, as: .png)
}

final class ImageFolderTests: XCTestCase {
  func testClassesSortedAndLabelsFollowFolders() throws {
    let folder = try TemporaryFolder()
    try folder.write(try pngImage(fill: 10), to: "zebra/a.png")
    try folder.write(try pngImage(fill: 20), to: "ant/b.JPG")
    try folder.write(try pngImage(fill: 30), to: "ant/c.jpeg")
    try folder.write([1, 2, 3], to: "ant/notes.txt")
    XCTAssertEqual(try DatasetFormat.detect(folder.path), .imageFolder)
    let splits = try DatasetSplits.load(folder.path, seed: 1)
    let train = splits.train
    XCTAssertEqual(train.classNames, ["ant", "zebra"])
    XCTAssertEqual(train.images.shape, Shape(3, 1, 2, 2))
    XCTAssertNil(splits.test)
    // Whatever the shuffle order, each image keeps its own label.
    for i in 0..<3 {
      let value = train.images.storage[i * 4]
      XCTAssertEqual(train.labels[i], value == Float(10) / 255 ? 1 : 0)
    }
    XCTAssertEqual(train.classCounts, [2, 1])
  }

  func testShuffleBeforeValidationSplitPutsEveryClassInBothParts() throws {
    let folder = try TemporaryFolder()
    for (c, name) in ["cat", "dog", "fox"].enumerated() {
      for i in 0..<20 {
        try folder.write(try pngImage(fill: UInt8(c * 20 + i)), to: "\(name)/\(i).png")
      }
    }
    let train = try ImageFolder.load(folder: folder.path, seed: 0).train
    // Keras's validation split of 0.2: the last 12 of 60.
    let (fit, validation) = (train.slice(0..<48), train.slice(48..<60))
    XCTAssertTrue(fit.classCounts.allSatisfy { $0 > 0 }, "\(fit.classCounts)")
    XCTAssertTrue(validation.classCounts.allSatisfy { $0 > 0 }, "\(validation.classCounts)")
    // Without shuffling the last 12 would all be "fox"; the labels must be mixed.
    XCTAssertNotEqual(train.labels, train.labels.sorted())
    // Pixel values encode (class, index), so image and label stayed paired.
    for i in 0..<train.count {
      let value = Int((train.images.storage[i * 4] * 255).rounded())
      XCTAssertEqual(value / 20, train.labels[i])
    }
  }

  func testSameSeedSameOrderDifferentSeedDifferentOrder() throws {
    let folder = try TemporaryFolder()
    for i in 0..<12 { try folder.write(try pngImage(fill: UInt8(i)), to: "c\(i % 3)/\(i).png") }
    let a = try ImageFolder.load(folder: folder.path, seed: 7).train
    let b = try ImageFolder.load(folder: folder.path, seed: 7).train
    let c = try ImageFolder.load(folder: folder.path, seed: 8).train
    XCTAssertEqual(a, b)
    XCTAssertNotEqual(a.images, c.images)
  }

  func testTrainAndTestSubRoots() throws {
    let folder = try TemporaryFolder()
    try folder.write(try pngImage(fill: 1), to: "train/bird/0.png")
    try folder.write(try pngImage(fill: 2), to: "train/cat/0.png")
    try folder.write(try pngImage(fill: 3), to: "test/cat/0.png")
    let splits = try DatasetSplits.load(folder.path, seed: 0)
    XCTAssertEqual(splits.train.classNames, ["bird", "cat"])
    XCTAssertEqual(splits.test?.labels, [1], "test labels index the training classes")
    XCTAssertEqual(splits.test?.classNames, ["bird", "cat"])
    try folder.write(try pngImage(fill: 3), to: "test/dog/0.png")
    XCTAssertThrowsDatasetError(
      try DatasetSplits.load(folder.path),
      .unknownClass(path: folder.path + "/test/dog", knownClasses: ["bird", "cat"]))
  }

  func testLimitDecodesOnlyAShuffledSampleOfEachPart() throws {
    let folder = try TemporaryFolder()
    for (c, name) in ["a", "b", "c"].enumerated() {
      for i in 0..<10 {
        try folder.write(try pngImage(fill: UInt8(c)), to: "train/\(name)/\(i).png")
        try folder.write(try pngImage(fill: UInt8(c)), to: "test/\(name)/\(i).png")
      }
    }
    // Files past the limit are never decoded, so a broken one there is
    // harmless. The training files are shuffled with the one seeded
    // shuffle; pick a seed that puts broken.png (listed last) past the limit.
    try folder.write([0], to: "train/c/broken.png")
    let seed = try XCTUnwrap(
      (UInt64(0)..<100).first { seed in
        var order = Array(0..<31)
        var generator = SeededGenerator(seed: seed)
        order.seededShuffle(using: &generator)
        return order.firstIndex(of: 30)! >= 9
      })
    let splits = try DatasetSplits.load(folder.path, seed: seed, limit: 9)
    XCTAssertEqual(splits.train.count, 9)
    XCTAssertEqual(splits.test?.count, 9)
    // Shuffled first, so the sample is not just the first class folder.
    XCTAssertGreaterThan(Set(splits.train.labels).count, 1)
    XCTAssertGreaterThan(Set(splits.test?.labels ?? []).count, 1)
    let all = try DatasetSplits.load(folder.path, seed: seed, limit: 9)
    XCTAssertEqual(all.train, splits.train, "the same seed picks the same sample")
  }

  func testLimitAppliesToIDXDataToo() throws {
    let splits = try DatasetSplits.load(fixturePath("mnist5"), limit: 2)
    XCTAssertEqual(splits.train.labels, [5, 0])
  }

  func testEmptyClassAndNoClasses() throws {
    let folder = try TemporaryFolder()
    try folder.write(try pngImage(fill: 1), to: "a/0.png")
    try folder.makeFolder("b")
    try folder.write([0], to: "b/readme.txt")
    XCTAssertThrowsDatasetError(
      try ImageFolder.load(folder: folder.path, seed: 0),
      .emptyClass(path: folder.path + "/b"))
    let bare = try TemporaryFolder()
    try bare.write(try pngImage(fill: 1), to: "loose.png")
    XCTAssertThrowsDatasetError(
      try ImageFolder.load(folder: bare.path, seed: 0),
      .noClasses(path: bare.path))
    XCTAssertThrowsDatasetError(
      try DatasetFormat.detect(bare.path), .unknownFormat(path: bare.path))
  }

  func testOddSizeAndUndecodableFilesAreNamed() throws {
    let folder = try TemporaryFolder()
    for i in 0..<6 { try folder.write(try pngImage(fill: 1), to: "a/\(i).png") }
    let odd = try folder.write(try pngImage(width: 3, fill: 1), to: "a/odd.png")
    XCTAssertThrowsDatasetError(
      try ImageFolder.load(folder: folder.path, seed: 3),
      .imageSizeMismatch(path: odd, width: 3, height: 2, expectedWidth: 2, expectedHeight: 2))
    try FileManager.default.removeItem(atPath: odd)
    let broken = try folder.write([9, 9], to: "a/broken.png")
    XCTAssertThrowsDatasetError(
      try ImageFolder.load(folder: folder.path, seed: 3),
      .imageCodec(.unknownFormat(broken)))
  }

  /// Regression (hostile input): every image was decoded before its size
  /// was compared. The odd file here has a valid header and damaged pixel
  /// data: it is named for its size, so its pixels were never decoded.
  func testHeaderSizeIsCheckedBeforeThePixelsAreDecoded() throws {
    let folder = try TemporaryFolder()
    for i in 0..<4 { try folder.write(try pngImage(fill: 1), to: "a/\(i).png") }
    var odd = try pngImage(width: 3, height: 5, fill: 7)
    let idat = try XCTUnwrap(
      (0..<(odd.count - 4)).first { odd[$0..<($0 + 4)].elementsEqual(Array("IDAT".utf8)) })
    odd[idat + 6] ^= 0xFF
    let oddPath = try folder.write(odd, to: "a/odd.png")
    XCTAssertThrowsError(try ImageFile.read(oddPath), "the pixel data is damaged")
    // A seed that does not shuffle the odd file (fifth of five) to the front:
    // the first file is decoded whole, to learn the size the others need.
    let seed = try XCTUnwrap(
      (UInt64(0)..<100).first { seed in
        var order = Array(0..<5)
        var generator = SeededGenerator(seed: seed)
        order.seededShuffle(using: &generator)
        return order[0] != 4
      })
    XCTAssertThrowsDatasetError(
      try ImageFolder.load(folder: folder.path, seed: seed),
      .imageSizeMismatch(path: oddPath, width: 3, height: 5, expectedWidth: 2, expectedHeight: 2))
  }

  /// A JPEG with corrupt data fails the load, unless decoding is lenient:
  /// then it loads and the file is listed in the warnings.
  func testCorruptJPEGDataNeedsLenientAndIsReported() throws {
    let folder = try TemporaryFolder()
    let image = Image(
      width: 32, height: 32, layout: .gray, samples: (0..<1024).map { UInt8($0 % 251) })
    let jpeg = try ImageFile.encode(image, as: .jpeg, quality: 90)
    try folder.write(jpeg, to: "a/good.jpg")
    let damaged = try folder.write(
      Array(jpeg.prefix(jpeg.count * 6 / 10)) + [0xFF, 0xD9], to: "b/damaged.jpg")
    let message = "Corrupt JPEG data: premature end of data segment"
    XCTAssertThrowsDatasetError(
      try DatasetSplits.load(folder.path),
      .imageCodec(.corruptData(damaged, .jpeg, message: message)))
    let splits = try DatasetSplits.load(folder.path, decodeOptions: DecodeOptions(lenient: true))
    XCTAssertEqual(splits.train.count, 2)
    XCTAssertEqual(splits.warnings.map(\.path), [damaged])
    XCTAssertEqual(splits.warnings.first?.message, message)
  }

  func testChannelConversion() throws {
    let folder = try TemporaryFolder()
    // One RGB pixel (255, 0, 0) and one gray-alpha pixel (51, alpha 0).
    try folder.write(
      try pngImage(Image(width: 1, height: 1, layout: .rgb, samples: [255, 0, 0])),
      to: "red/0.png")
    try folder.write(
      try pngImage(Image(width: 1, height: 1, layout: .grayAlpha, samples: [51, 0])),
      to: "gray/0.png")
    let rgb = try ImageFolder.load(folder: folder.path, channels: 3, seed: 0)
    let grayIndex = rgb.train.labels.firstIndex(of: 0)!
    let redIndex = 1 - grayIndex
    XCTAssertEqual(rgb.train.images.shape, Shape(2, 3, 1, 1))
    XCTAssertEqual(Array(rgb.train.images.storage[(redIndex * 3)..<(redIndex * 3 + 3)]), [1, 0, 0])
    XCTAssertEqual(
      Array(rgb.train.images.storage[(grayIndex * 3)..<(grayIndex * 3 + 3)]),
      [Float](repeating: Float(51) / 255, count: 3))
    let gray = try ImageFolder.load(folder: folder.path, channels: 1, seed: 0)
    XCTAssertEqual(gray.train.images.storage[redIndex], 0.299, accuracy: 1e-6)
  }
}

/// The same loader with the real PNG/JPEG decoder, on files written by ImageCodecs.
final class ImageFolderCodecTests: XCTestCase {
  func testDecodesPNGAndJPEGClassFolders() throws {
    let folder = try TemporaryFolder()
    try folder.makeFolder("train/dark")
    try folder.makeFolder("train/light")
    try folder.makeFolder("test/light")
    let dark = Image(width: 4, height: 3, layout: .gray, samples: [UInt8](repeating: 10, count: 12))
    let light = Image(
      width: 4, height: 3, layout: .rgb, samples: [UInt8](repeating: 240, count: 36))
    for i in 0..<3 {
      try ImageFile.write(dark, to: folder.path + "/train/dark/\(i).png")
      try ImageFile.write(light, to: folder.path + "/train/light/\(i).png")
    }
    try ImageFile.write(light, to: folder.path + "/train/light/photo.jpg", quality: 95)
    try ImageFile.write(light, to: folder.path + "/test/light/0.png")
    let splits = try DatasetSplits.load(folder.path, channels: 1, seed: 0)
    XCTAssertEqual(splits.format, .imageFolder)
    XCTAssertEqual(splits.train.images.shape, Shape(7, 1, 3, 4))
    XCTAssertEqual(splits.train.classCounts, [3, 4])
    for i in 0..<splits.train.count {
      let value = splits.train.images.storage[i * 12 + 5]
      if splits.train.labels[i] == 0 {
        XCTAssertEqual(value, Float(10) / 255)
      } else {
        XCTAssertEqual(value, Float(240) / 255, accuracy: 3 / 255, "JPEG is lossy")
      }
    }
    XCTAssertEqual(splits.test?.labels, [1])
    XCTAssertEqual(splits.test?.images.shape, Shape(1, 1, 3, 4))
  }

  func testCorruptImageReportsTheCodecError() throws {
    let folder = try TemporaryFolder()
    let good = Image(width: 2, height: 2, layout: .gray, samples: [1, 2, 3, 4])
    try folder.makeFolder("a")
    try ImageFile.write(good, to: folder.path + "/a/0.png")
    let bad = try folder.write(Array("not really a png".utf8), to: "a/1.png")
    XCTAssertThrowsError(try ImageFolder.load(folder: folder.path, seed: 0)) { error in
      guard case .imageCodec(let codecError)? = error as? DatasetError else {
        return XCTFail("expected imageCodec, got \(error)")
      }
      XCTAssertTrue(codecError.description.hasPrefix(bad), codecError.description)
    }
  }

  func testPlanesMatchLoaderLayout() {
    let image = Image(width: 2, height: 1, layout: .rgb, samples: [255, 0, 51, 0, 255, 102])
    XCTAssertEqual(
      PixelConversion.planes(of: image, channels: 3), [1, 0, 0, 1, 51 / 255, 102 / 255])
    XCTAssertEqual(PixelConversion.naturalChannels(.grayAlpha), 1)
  }
}
