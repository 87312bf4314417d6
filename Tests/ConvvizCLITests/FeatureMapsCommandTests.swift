import Foundation
import ImageCodecs
import XCTest

final class FeatureMapsCommandTests: XCTestCase {
  func testLearnedFiltersOnAPhotoOfAnotherSize() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let result = try TrainingCLI.run([
      "featuremaps", fixture.model, fixture.photo, "--overlay", "-o", out.path,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let input = try ImageFile.read(out.path + "/photo-input.png")
    XCTAssertEqual(input.layout, .gray, "an MNIST-style model sees gray")
    XCTAssertEqual(input.width, 20)
    XCTAssertEqual(input.height, 16)
    // The bar's luma (0.299·240 + 0.587·230 + 0.114·220 = 232.0) survives the round trip.
    XCTAssertEqual(input.samples8[9], 232)
    let maps = try ImageFile.read(out.path + "/photo-conv2d-featuremaps.png")
    XCTAssertGreaterThan(maps.width, 2 * 18, "2×2 grid of 18×14 maps")
    let overlay = try ImageFile.read(out.path + "/photo-conv2d-overlay.png")
    XCTAssertGreaterThan(overlay.width, 20)
    for name in ["photo-input.png", "photo-conv2d-featuremaps.png", "photo-conv2d-overlay.png"] {
      XCTAssertTrue(result.stdout.contains("wrote \(out.path)/\(name)"), result.stdout)
    }
  }

  func testDeeperLayersAndLayersWithoutMaps() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let pooled = try TrainingCLI.run([
      "featuremaps", fixture.model, fixture.photo, "--layer", "1", "-o", out.path,
    ])
    XCTAssertEqual(pooled.status, 0, pooled.stderr)
    XCTAssertTrue(
      FileManager.default.fileExists(atPath: out.path + "/photo-max_pooling2d-featuremaps.png"))
    let flat = try TrainingCLI.run([
      "featuremaps", fixture.model, fixture.photo, "--layer", "2", "-o", out.path,
    ])
    XCTAssertEqual(flat.status, 1)
    XCTAssertTrue(flat.stderr.contains("layer 2 is Flatten"), flat.stderr)
  }

  func testRandomFiltersAreRepeatableWithASeed() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    func run(_ seed: String, _ folder: String) throws -> [UInt8] {
      let result = try TrainingCLI.run([
        "featuremaps", "--random", "3", "--activation", "sigmoid", "--seed", seed, fixture.photo,
        "-o", out.path + "/" + folder,
      ])
      XCTAssertEqual(result.status, 0, result.stderr)
      XCTAssertTrue(
        FileManager.default.fileExists(atPath: out.path + "/\(folder)/random-filters.png"))
      return try ImageFile.read(out.path + "/\(folder)/photo-random-featuremaps.png").samples8
    }
    let first = try run("5", "a")
    XCTAssertEqual(try run("5", "b"), first)
    XCTAssertNotEqual(try run("6", "c"), first)
    let input = try ImageFile.read(out.path + "/a/photo-input.png")
    XCTAssertEqual(input.layout, .rgb, "random filters see the photo's three channels")
  }

  func testArgumentMistakes() throws {
    let both = try TrainingCLI.run(["featuremaps", "--random", "2", "a.bin", "b.png"])
    XCTAssertEqual(both.status, 64)
    XCTAssertTrue(both.stderr.contains("--random takes no model"), both.stderr)
    let none = try TrainingCLI.run(["featuremaps"])
    XCTAssertEqual(none.status, 64)
  }
}

final class FeatureMapsOptionTests: XCTestCase {
  func testMaxTileShrinksLargeMapsAndLabelsCanBeDropped() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    func maps(_ options: [String], _ folder: String) throws -> Image {
      let result = try TrainingCLI.run(
        ["featuremaps", fixture.model, fixture.photo, "-o", out.path + "/" + folder] + options)
      XCTAssertEqual(result.status, 0, result.stderr)
      return try ImageFile.read(out.path + "/\(folder)/photo-conv2d-featuremaps.png")
    }
    let plain = try maps([], "a")
    let unlabelled = try maps(["--labels", "none"], "b")
    XCTAssertEqual(
      unlabelled.height, plain.height - 2 * 11, "two rows lose their 11 px label strips")
    let shrunk = try maps(["--max-tile", "9"], "c")
    XCTAssertNotEqual(shrunk.samples8, plain.samples8, "18×14 maps averaged down to 9×7")
    let tooSmall = try TrainingCLI.run([
      "featuremaps", fixture.model, fixture.photo, "--max-tile", "2",
    ])
    XCTAssertEqual(tooSmall.status, 64)
  }
}
