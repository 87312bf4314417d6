import Foundation
import ImageCodecs
import XCTest

/// `maximize`, `top-patches` and `embed` on the trained bars fixture
/// (input 8×8×1; rows: 0 conv2d 4 relu, 1 maxpool, 2 flatten, 3 dense 2).
final class ExplainToolsCommandTests: XCTestCase {
  func testMaximizeWritesOneGridAndTheSameSeedGivesTheSameBytes() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    var pictures: [Data] = []
    for name in ["a.png", "b.png"] {
      let result = try TrainingCLI.run([
        "maximize", fixture.model, "--layer", "0", "--steps", "12", "--seed", "3", "-o",
        out.path + "/" + name,
      ])
      XCTAssertEqual(result.status, 0, result.stderr)
      XCTAssertTrue(result.stdout.contains("unit 3: objective "), result.stdout)
      XCTAssertTrue(result.stdout.contains("wrote \(out.path)/\(name) (4 images, 12 steps"))
      pictures.append(try Data(contentsOf: URL(fileURLWithPath: out.path + "/" + name)))
    }
    XCTAssertEqual(pictures[0], pictures[1])
    let grid = try ImageFile.read(out.path + "/a.png")
    // Four 8×8 tiles drawn at 16× (128 px) in a 2×2 grid.
    XCTAssertGreaterThan(grid.width, 2 * 128)
    let classes = try TrainingCLI.run([
      "maximize", fixture.model, "--class", "1", "--param", "pixel", "--steps", "6", "--tv",
      "0.1", "--blur", "0.5", "-o", out.path + "/class.png",
    ])
    XCTAssertEqual(classes.status, 0, classes.stderr)
    XCTAssertTrue(classes.stdout.contains("class 1: objective "), classes.stdout)
  }

  func testTopPatchesWritesOneGridPerLayer() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let result = try TrainingCLI.run([
      "top-patches", fixture.model, "--data", fixture.data, "--layer", "0", "--layer", "1",
      "--k", "3", "-o", out.path,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("receptive field 3×3 pixels every 1×1"), result.stdout)
    XCTAssertTrue(result.stdout.contains("receptive field 4×4 pixels every 2×2"), result.stdout)
    XCTAssertEqual(
      Set(try FileManager.default.contentsOfDirectory(atPath: out.path)),
      ["model-top-patches-conv2d.png", "model-top-patches-max_pooling2d.png"])
    let grid = try ImageFile.read(out.path + "/model-top-patches-conv2d.png")
    XCTAssertGreaterThan(grid.height, 4 * 48, "four rows of units")
  }

  func testEmbedPrintsTheAgreementAndDrawsTheMap() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    for arguments in [
      ["--method", "pca"], ["--method", "tsne", "--perplexity", "5", "--thumbnails"],
    ] {
      let picture = out.path + "/\(arguments[1]).png"
      let result = try TrainingCLI.run(
        ["embed", fixture.model, "--data", fixture.data] + arguments + ["-o", picture])
      XCTAssertEqual(result.status, 0, result.stderr)
      let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("k-NN class agreement") }
      XCTAssertNotNil(line, result.stdout)
      XCTAssertTrue(line?.contains("activations at flatten (36 values)") ?? false, result.stdout)
      let image = try ImageFile.read(picture)
      XCTAssertEqual(image.width, 800)
    }
  }

  /// Bad input: one line naming the option and what is allowed, exit 64
  /// (usage) or 1, and nothing written.
  func testBadInputIsOneLineAndWritesNothing() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let never = out.path + "/never"
    let cases: [([String], Int32, String)] = [
      (
        ["maximize", fixture.model, "--layer", "nope", "-o", never + "/m.png"], 64,
        "--layer nope is not a layer of the model; spatial layers: "
      ),
      (
        ["maximize", fixture.model, "--layer", "3", "-o", never + "/m.png"], 64,
        "--layer 3 has output"
      ),
      (
        ["maximize", fixture.model, "--layer", "0", "--units", "4", "-o", never + "/m.png"], 64,
        "--units 4 is out of range: layer 0 has units 0…3"
      ),
      (
        ["maximize", fixture.model, "--class", "2", "-o", never + "/m.png"], 64,
        "--class 2 is out of range: the model has classes 0…1"
      ),
      (
        ["maximize", fixture.model, "--layer", "0", "--steps", "0", "-o", never + "/m.png"], 64,
        "--steps must be at least 1"
      ),
      (
        ["maximize", fixture.model, "--layer", "0", "--units", "x", "-o", never + "/m.png"], 64,
        "--units x: give unit numbers"
      ),
      (
        ["top-patches", fixture.model, "--data", fixture.data, "--layer", "2", "-o", never], 64,
        "--layer 2 has output"
      ),
      (
        [
          "top-patches", fixture.model, "--data", fixture.data, "--layer", "0", "--k", "0", "-o",
          never,
        ], 64, "--k must be at least 1"
      ),
      (
        [
          "top-patches", fixture.model, "--data", fixture.data, "--layer", "0", "--limit", "-1",
          "-o", never,
        ], 64, "--limit must be at least 1"
      ),
      (
        [
          "top-patches", fixture.model, "--data", out.path + "/missing", "--layer", "0", "-o",
          never,
        ], 1, "missing"
      ),
      (
        [
          "embed", fixture.model, "--data", fixture.data, "--layer", "nope", "-o", never + "/e.png",
        ],
        64, "--layer nope is not a layer of the model; layers: "
      ),
      (
        [
          "embed", fixture.model, "--data", fixture.data, "--method", "tsne", "-o",
          never + "/e.png",
        ],
        64, "--perplexity 30.0 must be below the number of samples (20)"
      ),
      (
        ["embed", fixture.model, "--data", fixture.data, "--limit", "0", "-o", never + "/e.png"],
        64, "--limit must be at least 1"
      ),
    ]
    for (arguments, status, message) in cases {
      let result = try TrainingCLI.run(arguments)
      XCTAssertEqual(result.status, status, "\(arguments): \(result.stderr)")
      let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("convviz: error:") }
      XCTAssertEqual(errors.count, 1, result.stderr)
      XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
      XCTAssertFalse(FileManager.default.fileExists(atPath: never), "\(arguments) wrote")
    }
  }
}
