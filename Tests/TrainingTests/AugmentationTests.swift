import Datasets
import Foundation
import Tensors
import XCTest

@testable import ModelFormats
@testable import Training

final class AugmentationTests: XCTestCase {
  /// A plane of distinct values, row-major H×W.
  private func plane(height: Int, width: Int, seed: UInt64 = 1) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<(height * width)).map { _ in generator.nextUnitFloat() }
  }

  /// `transform` applied to `values` (one H×W plane) with `fill`.
  private func applied(
    _ transform: ImageTransform, to values: [Float], height: Int, width: Int,
    fill: Augmentation.FillMode = .nearest
  ) -> [Float] {
    var out = values
    var scratch = [Float](repeating: 0, count: values.count)
    out.withUnsafeMutableBufferPointer {
      transform.applyReference(
        plane: $0, height: height, width: width, fill: fill, scratch: &scratch)
    }
    return out
  }

  // MARK: Parsing

  func testStandardIsFlipAndShiftAndTextRoundTrips() throws {
    let standard = try Augmentation(parsing: "standard")
    XCTAssertEqual(standard, .standard)
    XCTAssertTrue(standard.flip)
    XCTAssertEqual(standard.shift, 0.1)
    XCTAssertEqual(standard.description, "flip,shift=0.1")
    XCTAssertTrue(try Augmentation(parsing: "none").isIdentity)
    XCTAssertTrue(Augmentation().isIdentity)
    for text in [
      "flip,shift=0.1,crop=4,rotate=10.0,brightness=0.1", "rotate=15.0,fill=reflect",
      "shift=0.25,fill=wrap", "crop=2", "brightness=0.5",
    ] {
      let parsed = try Augmentation(parsing: text)
      XCTAssertEqual(try Augmentation(parsing: parsed.description), parsed, text)
    }
    let all = try Augmentation(parsing: "flip, shift=0.1 ,crop=4,rotate=10,brightness=0.1")
    XCTAssertEqual(all.crop, 4)
    XCTAssertEqual(all.rotation, 10)
    XCTAssertEqual(all.brightness, 0.1)
    XCTAssertEqual(try Augmentation(parsing: "standard,shift=0.2").shift, 0.2)
  }

  func testOutOfRangeAndMalformedTextIsRefusedWithOneLine() {
    for bad in [
      "shift=0.6", "shift=-0.1", "shift=nan", "shift=inf", "rotate=181", "rotate=-1",
      "brightness=1", "brightness=2", "crop=65", "crop=2.5", "crop=-1", "zoom=0.1", "flip=1",
      "shift", "fill=mirror", "flip,,shift=0.1", "", "standard=1", "none,flip",
    ] {
      XCTAssertThrowsError(try Augmentation(parsing: bad), bad) { error in
        guard case .invalidAugmentation(let reason) = error as? TrainerError else {
          return XCTFail("\(bad): \(error)")
        }
        XCTAssertFalse(reason.contains("\n"), reason)
        XCTAssertFalse(reason.isEmpty)
      }
    }
  }

  // MARK: Transforms

  func testFlipMirrorsAndFlipTwiceIsIdentity() {
    let (h, w) = (3, 5)
    let values = plane(height: h, width: w)
    let once = applied(ImageTransform(flip: true), to: values, height: h, width: w)
    for y in 0..<h {
      for x in 0..<w { XCTAssertEqual(once[y * w + x], values[y * w + (w - 1 - x)]) }
    }
    XCTAssertEqual(applied(ImageTransform(flip: true), to: once, height: h, width: w), values)
  }

  /// Keras's fill modes on `abcd`: `aaaa|abcd|dddd`, `0000|abcd|0000`,
  /// `dcba|abcd|dcba`, `abcd|abcd|abcd`.
  func testFillModesFollowKerasDocumentation() {
    let n = 4
    func indices(_ mode: Augmentation.FillMode) -> [Int] {
      (-4..<8).map { mode.index($0, extent: n) }
    }
    XCTAssertEqual(indices(.nearest), [0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3])
    XCTAssertEqual(indices(.constant), [-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1])
    XCTAssertEqual(indices(.reflect), [3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0])
    XCTAssertEqual(indices(.wrap), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3])
  }

  func testShiftMovesPixelsByTheAmountWithEachFillMode() {
    let row: [Float] = [1, 2, 3, 4]  // a b c d
    let right2 = ImageTransform(shiftX: 2)
    XCTAssertEqual(applied(right2, to: row, height: 1, width: 4, fill: .nearest), [1, 1, 1, 2])
    XCTAssertEqual(applied(right2, to: row, height: 1, width: 4, fill: .constant), [0, 0, 1, 2])
    XCTAssertEqual(applied(right2, to: row, height: 1, width: 4, fill: .reflect), [2, 1, 1, 2])
    XCTAssertEqual(applied(right2, to: row, height: 1, width: 4, fill: .wrap), [3, 4, 1, 2])
    let left1 = ImageTransform(shiftX: -1)
    XCTAssertEqual(applied(left1, to: row, height: 1, width: 4, fill: .constant), [2, 3, 4, 0])

    // In two dimensions: every interior pixel comes from (y − dy, x − dx).
    let (h, w) = (6, 7)
    let values = plane(height: h, width: w)
    let moved = applied(
      ImageTransform(shiftX: -2, shiftY: 3), to: values, height: h, width: w, fill: .constant)
    for y in 0..<h {
      for x in 0..<w {
        let (sy, sx) = (y - 3, x + 2)
        let expected = (0..<h).contains(sy) && (0..<w).contains(sx) ? values[sy * w + sx] : 0
        XCTAssertEqual(moved[y * w + x], expected, "(\(y), \(x))")
      }
    }
  }

  func testCropPadsWithZerosAndOffsetsStayWithinThePadding() {
    let (h, w) = (5, 5)
    let ones = [Float](repeating: 1, count: h * w)
    let cropped = applied(
      ImageTransform(cropX: 2, cropY: -1), to: ones, height: h, width: w, fill: .reflect)
    // Zero padding whatever the fill mode: two columns on the left, one row at the bottom.
    for y in 0..<h {
      for x in 0..<w {
        XCTAssertEqual(cropped[y * w + x], x < 2 || y == h - 1 ? 0 : 1, "(\(y), \(x))")
      }
    }
    let augmentation = try! Augmentation(parsing: "crop=4")
    var generator = SeededGenerator(seed: 3)
    var seen = Set<Int>()
    for _ in 0..<2000 {
      let t = augmentation.draw(height: 32, width: 32, using: &generator)
      XCTAssertTrue((-4...4).contains(t.cropX) && (-4...4).contains(t.cropY))
      seen.insert(t.cropX)
    }
    XCTAssertEqual(seen, Set(-4...4), "every offset of the padded window occurs")
  }

  func testRotationByZeroOrAFullTurnIsIdentityAndAQuarterTurnIsExact() {
    let (h, w) = (5, 5)
    let values = plane(height: h, width: w)
    XCTAssertEqual(applied(ImageTransform(rotation: 0), to: values, height: h, width: w), values)
    let fullTurn = applied(ImageTransform(rotation: 360), to: values, height: h, width: w)
    for (a, b) in zip(fullTurn, values) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    // Counter-clockwise on screen: out(y, x) = in(x, W − 1 − y).
    let quarter = applied(ImageTransform(rotation: 90), to: values, height: h, width: w)
    for y in 0..<h {
      for x in 0..<w {
        XCTAssertEqual(quarter[y * w + x], values[x * w + (w - 1 - y)], accuracy: 1e-5)
      }
    }
    // A small angle keeps the centre pixel and moves the corners.
    let small = applied(ImageTransform(rotation: 10), to: values, height: h, width: w)
    XCTAssertEqual(small[2 * w + 2], values[2 * w + 2], accuracy: 1e-6)
    XCTAssertNotEqual(small, values)
  }

  func testBrightnessStaysWithinItsFactorAndTheUnitRange() throws {
    let augmentation = try Augmentation(parsing: "brightness=0.1")
    var generator = SeededGenerator(seed: 4)
    var low: Float = 2
    var high: Float = 0
    for _ in 0..<2000 {
      let t = augmentation.draw(height: 4, width: 4, using: &generator)
      low = min(low, t.brightness)
      high = max(high, t.brightness)
    }
    XCTAssertGreaterThanOrEqual(low, 0.9)
    XCTAssertLessThanOrEqual(high, 1.1)
    XCTAssertLessThan(low, 0.91)
    XCTAssertGreaterThan(high, 1.09)
    let values: [Float] = [0, 0.5, 0.95, 1]
    XCTAssertEqual(
      applied(ImageTransform(brightness: 1.1), to: values, height: 2, width: 2),
      [0, 0.5 * 1.1, 1, 1])
    XCTAssertEqual(
      applied(ImageTransform(brightness: 0.9), to: values, height: 2, width: 2),
      [0, 0.5 * 0.9, 0.95 * 0.9, 0.9])
  }

  // MARK: Batches

  func testSameSeedSameBatchAndTheDataSetIsNeverModified() throws {
    let data = Stripes.data(count: 40, seed: 2)
    let pristine = Stripes.data(count: 40, seed: 2)
    let augmentation = try Augmentation(parsing: "flip,shift=0.25,crop=1,rotate=20,brightness=0.2")
    func augmented(seed: UInt64) -> Tensor {
      var generator = SeededGenerator(seed: seed)
      var (images, _) = data.batch(0..<40)
      augmentation.apply(to: &images, using: &generator)
      return images
    }
    let first = augmented(seed: 9)
    XCTAssertEqual(first, augmented(seed: 9))
    XCTAssertNotEqual(first, augmented(seed: 10))
    XCTAssertNotEqual(first, data.batch(0..<40).images)
    XCTAssertEqual(data, pristine)
    XCTAssertTrue(first.storage.allSatisfy { (0...1).contains($0) })
  }

  /// Each image of a batch gets its own draw, in order, per channel alike.
  func testEveryImageGetsItsOwnTransformAppliedToAllChannels() throws {
    let augmentation = try Augmentation(parsing: "flip,shift=0.3,rotate=30")
    let (n, c, h, w) = (6, 3, 8, 8)
    var generator = SeededGenerator(seed: 5)
    var images = Tensor(
      shape: Shape(n, c, h, w),
      storage: (0..<(n * c * h * w)).map { _ in generator.nextUnitFloat() })
    let original = images
    var drawing = SeededGenerator(seed: 11)
    var applying = drawing
    let transforms = (0..<n).map { _ in augmentation.draw(height: h, width: w, using: &drawing) }
    augmentation.apply(to: &images, using: &applying)
    XCTAssertEqual(applying, drawing, "apply draws exactly the batch's transforms")
    for i in 0..<n {
      for channel in 0..<c {
        let start = (i * c + channel) * h * w
        let expected = applied(
          transforms[i], to: Array(original.storage[start..<(start + h * w)]), height: h, width: w)
        XCTAssertEqual(Array(images.storage[start..<(start + h * w)]), expected)
      }
    }
  }
}

final class AugmentedTrainingTests: XCTestCase {
  private func trainer(seed: UInt64, epochs: Int, augment: String) throws -> Trainer {
    try Trainer(
      spec: Stripes.network,
      optimizer: Stripes.adam,
      configuration: TrainingConfiguration(
        epochs: epochs, batchSize: 16, validationSplit: 0.2, seed: seed,
        augmentation: try Augmentation(parsing: augment)),
      dataset: "stripes", classNames: ["left", "right", "top"])
  }

  func testSameSeedGivesBitIdenticalModelAndAugmentationChangesIt() throws {
    let data = Stripes.data(count: 120, seed: 6)
    let pristine = Stripes.data(count: 120, seed: 6)
    var first = try trainer(seed: 7, epochs: 2, augment: "standard,rotate=10,brightness=0.1")
    var second = try trainer(seed: 7, epochs: 2, augment: "standard,rotate=10,brightness=0.1")
    try first.fit(data)
    try second.fit(data)
    XCTAssertEqual(
      first.modelFile(checkpoint: true).encoded(), second.modelFile(checkpoint: true).encoded())
    var plain = try trainer(seed: 7, epochs: 2, augment: "none")
    try plain.fit(data)
    XCTAssertNotEqual(first.modelFile().encoded(), plain.modelFile().encoded())
    XCTAssertEqual(data, pristine, "training never writes into the data set")
  }

  /// The augmentation stream is split off last: the shuffle order and the
  /// dropout masks of an augmented run are those of the plain run, and a
  /// plain run's file has neither the options section nor its generator.
  func testAugmentationDoesNotPerturbShuffleOrDropout() throws {
    let data = Stripes.data(count: 80, seed: 3)
    var augmented = try trainer(seed: 5, epochs: 2, augment: "flip")
    var plain = try trainer(seed: 5, epochs: 2, augment: "none")
    try augmented.fit(data)
    try plain.fit(data)
    let withAugmentation = try XCTUnwrap(augmented.modelFile(checkpoint: true).checkpoint)
    let without = try XCTUnwrap(plain.modelFile(checkpoint: true).checkpoint)
    XCTAssertEqual(without.generators.map(\.name), ["shuffle", "layer/3"])
    XCTAssertEqual(
      withAugmentation.generators.map(\.name), ["shuffle", "augmentation", "layer/3"])
    XCTAssertEqual(
      withAugmentation.generators.filter { $0.name != "augmentation" }, without.generators)
    let plainBytes = plain.modelFile(checkpoint: true).encoded()
    XCTAssertEqual(plainBytes[12], 1, "flags: checkpoint only, no options section")
    XCTAssertEqual(augmented.modelFile(checkpoint: true).encoded()[12], 1 | 4)
  }

  func testResumedAugmentedRunMatchesTheStraightRun() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "augment-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let data = Stripes.data(count: 100, seed: 8)
    let augment = "flip,shift=0.25,crop=1,rotate=15,brightness=0.2,fill=reflect"
    var straight = try trainer(seed: 3, epochs: 3, augment: augment)
    try straight.fit(data)
    let path = folder.appendingPathComponent("checkpoint.bin").path
    var interrupted = try trainer(seed: 3, epochs: 1, augment: augment)
    try interrupted.fit(data, checkpointPath: path)
    var resumed = try Trainer.resume(from: path)
    XCTAssertEqual(resumed.configuration.augmentation, try Augmentation(parsing: augment))
    resumed.configuration.epochs = 3
    try resumed.fit(data, checkpointPath: path)
    XCTAssertEqual(
      try ModelFile.read(from: path).encoded(), straight.modelFile(checkpoint: true).encoded())
  }

  func testACheckpointWithoutItsAugmentationStateIsRefused() throws {
    var trained = try trainer(seed: 1, epochs: 1, augment: "flip")
    try trained.fit(Stripes.data(count: 40, seed: 1))
    var file = trained.modelFile(checkpoint: true)
    file.checkpoint?.generators.removeAll { $0.name == "augmentation" }
    XCTAssertThrowsError(try Trainer(resuming: file, path: "m.bin")) { error in
      XCTAssertEqual(
        error as? TrainerError,
        .checkpointMismatch(path: "m.bin", reason: "no valid augmentation generator state"))
    }
    file = trained.modelFile(checkpoint: true)
    file.metadata.augmentation = "zoom=2"
    XCTAssertThrowsError(
      try Trainer(resuming: ModelFile.decode(file.encoded(), path: "m.bin"), path: "m.bin"))
  }
}

final class AugmentationFastPathTests: XCTestCase {
  /// The whole-image fast path equals the per-plane reference bit for bit,
  /// for random transforms of every kind, every fill mode, odd sizes, and
  /// rotations large enough to read outside the image.
  func testFastPathMatchesTheReference() throws {
    var generator = SeededGenerator(seed: 17)
    for fill in Augmentation.FillMode.allCases {
      var augmentation = try Augmentation(
        parsing: "flip,shift=0.5,crop=3,rotate=180,brightness=0.5")
      augmentation.fill = fill
      for (c, h, w) in [(3, 7, 9), (1, 5, 5), (2, 1, 6), (3, 32, 32)] {
        for _ in 0..<20 {
          let transform = augmentation.draw(height: h, width: w, using: &generator)
          var image = (0..<(c * h * w)).map { _ in generator.nextUnitFloat() }
          var expected = image
          var planeScratch = [Float](repeating: 0, count: h * w)
          for channel in 0..<c {
            expected.withUnsafeMutableBufferPointer {
              transform.applyReference(
                plane: UnsafeMutableBufferPointer(
                  rebasing: $0[(channel * h * w)..<((channel + 1) * h * w)]),
                height: h, width: w, fill: fill, scratch: &planeScratch)
            }
          }
          var scratch = [Float](repeating: 0, count: c * h * w)
          image.withUnsafeMutableBufferPointer { image in
            scratch.withUnsafeMutableBufferPointer { scratch in
              transform.apply(
                image: image.baseAddress!, channels: c, height: h, width: w, fill: fill,
                scratch: scratch.baseAddress!)
            }
          }
          XCTAssertEqual(image, expected, "\(fill) \(c)×\(h)×\(w) \(transform)")
        }
      }
    }
  }
}
