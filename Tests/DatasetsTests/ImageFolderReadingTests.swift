import Foundation
import ImageCodecs
import Synchronization
import Tensors
import XCTest

@testable import Datasets

/// Image folders read with several threads, bad files left out on request,
/// and the decoded cache: same data whichever way it is read.
final class ImageFolderReadingTests: XCTestCase {
  /// `count` images per class of 4×3 RGB noise (a seeded pattern), under
  /// train/ and test/.
  private func noiseFolder(count: Int = 6) throws -> TemporaryFolder {
    let folder = try TemporaryFolder()
    var generator = SeededGenerator(seed: 21)
    for part in ["train", "test"] {
      for name in ["cat", "dog"] {
        for i in 0..<count {
          let samples = (0..<(4 * 3 * 3)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
          let image = Image(width: 4, height: 3, layout: .rgb, samples: samples)
          try folder.write(try ImageFile.encode(image, as: .png), to: "\(part)/\(name)/\(i).png")
        }
      }
    }
    return folder
  }

  func testThreadCountDoesNotChangeTheData() throws {
    let folder = try noiseFolder(count: 9)
    let one = try ImageFolder.load(
      folder: folder.path, seed: 3, reading: ImageFolderReading(threads: 1))
    for threads in [2, 3, 7] {
      let many = try ImageFolder.load(
        folder: folder.path, seed: 3, reading: ImageFolderReading(threads: threads))
      XCTAssertEqual(many.train, one.train, "\(threads) threads")
      XCTAssertEqual(many.test, one.test, "\(threads) threads")
    }
  }

  func testProgressCountsEveryFileOfBothParts() throws {
    let folder = try noiseFolder(count: 5)
    let seen = Mutex<[Int]>([])
    let totals = Mutex<Set<Int>>([])
    _ = try ImageFolder.load(
      folder: folder.path, seed: 0,
      reading: ImageFolderReading(
        threads: 2,
        progress: { done, total in
          seen.withLock { $0.append(done) }
          totals.withLock { _ = $0.insert(total) }
        }))
    XCTAssertEqual(totals.withLock { $0 }, [20])
    XCTAssertEqual(seen.withLock { $0.sorted() }, Array(1...20))
  }

  func testSkipBadLeavesOutBrokenAndOddSizedFilesAndNamesThem() throws {
    let folder = try TemporaryFolder()
    for i in 0..<4 {
      let image = Image(
        width: 2, height: 2, layout: .gray, samples: [UInt8](repeating: UInt8(10 * i), count: 4))
      try folder.write(try ImageFile.encode(image, as: .png), to: "a/\(i).png")
    }
    let broken = try folder.write([0x89, 0x50, 0x4e, 0x47, 1, 2, 3], to: "a/broken.png")
    let odd = try folder.write(
      try ImageFile.encode(
        Image(width: 3, height: 2, layout: .gray, samples: [UInt8](repeating: 7, count: 6)),
        as: .png), to: "b/odd.png")
    try folder.write(
      try ImageFile.encode(
        Image(width: 2, height: 2, layout: .gray, samples: [200, 200, 200, 200]), as: .png),
      to: "b/good.png")

    XCTAssertThrowsError(try ImageFolder.load(folder: folder.path, seed: 0))
    let splits = try ImageFolder.load(
      folder: folder.path, seed: 0, reading: ImageFolderReading(skipBad: true))
    XCTAssertEqual(splits.train.count, 5)
    XCTAssertEqual(splits.train.classCounts, [4, 1])
    XCTAssertEqual(Set(splits.skipped.map(\.path)), [broken, odd])
    for skip in splits.skipped {
      XCTAssertTrue(skip.description.hasPrefix(skip.path), skip.description)
    }
    let oddReason = try XCTUnwrap(splits.skipped.first { $0.path == odd }).reason
    XCTAssertTrue(oddReason.contains("3×2"), oddReason)
    // Each kept image is still paired with its label and its own pixels.
    for i in 0..<splits.train.count {
      let value = splits.train.images.storage[i * 4]
      XCTAssertEqual(splits.train.labels[i], value == Float(200) / 255 ? 1 : 0)
    }
  }

  func testSkipBadWithNothingReadableIsAnError() throws {
    let folder = try TemporaryFolder()
    try folder.write([1, 2, 3], to: "a/x.png")
    try folder.write([4, 5, 6], to: "a/y.jpg")
    XCTAssertThrowsError(
      try ImageFolder.load(
        folder: folder.path, seed: 0, reading: ImageFolderReading(skipBad: true))
    ) { error in
      XCTAssertEqual(error as? DatasetError, .nothingReadable(path: folder.path, skipped: 2))
    }
  }

  // MARK: The decoded cache

  private func load(
    _ folder: TemporaryFolder, cache: String, channels: Int? = nil, skipBad: Bool = false
  ) throws -> DatasetSplits {
    try ImageFolder.load(
      folder: folder.path, channels: channels, seed: 4,
      reading: ImageFolderReading(threads: 2, skipBad: skipBad, cacheFolder: cache))
  }

  private func cacheFiles(_ cache: TemporaryFolder) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: cache.path).filter {
      $0.hasSuffix(".cvzdata")
    }
  }

  func testSecondLoadComesFromTheCacheBitForBit() throws {
    let folder = try noiseFolder()
    let cache = try TemporaryFolder()
    // RGB as RGB is stored as bytes; RGB as luma as floats.
    for channels in [3, 1] {
      let first = try load(folder, cache: cache.path, channels: channels)
      XCTAssertEqual(first.notes, [])
      let second = try load(folder, cache: cache.path, channels: channels)
      XCTAssertTrue(
        second.notes.contains { $0.hasPrefix("decoded images from the cache") }, "\(second.notes)")
      XCTAssertEqual(second.train, first.train)
      XCTAssertEqual(second.test, first.test)
      let uncached = try ImageFolder.load(folder: folder.path, channels: channels, seed: 4)
      XCTAssertEqual(second.train, uncached.train)
    }
    XCTAssertEqual(try cacheFiles(cache).count, 2)
    // Stored as bytes: about one byte a sample (4×3×3 × 24 images), not four.
    let sizes = try cacheFiles(cache).map {
      try FileManager.default.attributesOfItem(atPath: cache.path + "/" + $0)[.size] as! Int
    }
    XCTAssertLessThan(sizes.min()!, 24 * 36 * 2 + 4096)
    XCTAssertGreaterThan(sizes.max()!, 24 * 12 * 4)
  }

  func testSkippedFilesAndWarningsSurviveTheCache() throws {
    let folder = try noiseFolder(count: 3)
    let bad = try folder.write([9, 9, 9], to: "train/cat/bad.png")
    let cache = try TemporaryFolder()
    let first = try load(folder, cache: cache.path, skipBad: true)
    let second = try load(folder, cache: cache.path, skipBad: true)
    XCTAssertEqual(first.skipped.map(\.path), [bad])
    XCTAssertEqual(second.skipped, first.skipped)
    XCTAssertEqual(second.train, first.train)
    // Without --skip-bad the same folder is an error, not the cached data.
    XCTAssertThrowsError(try load(folder, cache: cache.path))
  }

  func testAChangedFolderOrADamagedCacheIsRebuiltNeverTrusted() throws {
    let folder = try noiseFolder(count: 3)
    let cache = try TemporaryFolder()
    let original = try load(folder, cache: cache.path)
    let file = cache.path + "/" + (try cacheFiles(cache)[0])

    func reload() throws -> (DatasetSplits, String) {
      let splits = try load(folder, cache: cache.path)
      let note = splits.notes.first ?? ""
      return (splits, note)
    }

    // A file rewritten with other pixels (and so another size or time).
    let replacement = Image(
      width: 4, height: 3, layout: .rgb, samples: [UInt8](repeating: 1, count: 36))
    let changed = folder.path + "/train/dog/0.png"
    try Data(try ImageFile.encode(replacement, as: .png)).write(to: URL(fileURLWithPath: changed))
    var (splits, note) = try reload()
    XCTAssertTrue(note.hasSuffix("the images or settings changed"), note)
    XCTAssertNotEqual(splits.train, original.train)
    let rebuilt = splits
    // The rebuilt cache is used next time.
    (splits, note) = try reload()
    XCTAssertTrue(note.hasPrefix("decoded images from the cache"), note)
    XCTAssertEqual(splits.train, rebuilt.train)

    var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
    // A flipped payload byte.
    bytes[bytes.count - 5] ^= 0x40
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    (splits, note) = try reload()
    XCTAssertTrue(note.hasSuffix("its checksum does not match"), note)
    XCTAssertEqual(splits.train, rebuilt.train)
    // Truncated.
    bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
    try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: file))
    (splits, note) = try reload()
    XCTAssertTrue(note.hasSuffix("it is truncated"), note)
    XCTAssertEqual(splits.train, rebuilt.train)
    // Another version.
    bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
    bytes[8] &+= 1
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    (splits, note) = try reload()
    XCTAssertTrue(note.hasSuffix("it is from another version of convviz"), note)
    // Not a cache at all.
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: file))
    (splits, note) = try reload()
    XCTAssertTrue(note.hasSuffix("it is not a convviz cache file"), note)
    XCTAssertEqual(splits.train, rebuilt.train)
  }

  func testAnUnwritableCacheFolderIsANoteNotAFailure() throws {
    let folder = try noiseFolder(count: 2)
    let blocker = try TemporaryFolder()
    let notAFolder = try blocker.write([1], to: "file")
    let splits = try load(folder, cache: notAFolder)
    XCTAssertTrue(
      splits.notes.contains { $0.hasPrefix("could not write the decoded cache") }, "\(splits.notes)"
    )
    XCTAssertEqual(splits.train.count, 4)
  }
}
