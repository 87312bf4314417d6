import Foundation
import ImageCodecs
import XCTest

final class DumpWeightsCommandTests: XCTestCase {
  func testWritesFilterGridNumPyFilesAndSummary() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let result = try TrainingCLI.run(["dump-weights", fixture.model, "-o", out.path])
    XCTAssertEqual(result.status, 0, result.stderr)
    let grid = try ImageFile.read(out.path + "/conv2d-filters.png")
    XCTAssertGreaterThan(
      grid.width, 2 * 48, "4 filters of 3×3 at 16 px per weight, plus a colour bar")
    XCTAssertEqual(grid.layout, .rgb)
    XCTAssertFalse(
      FileManager.default.fileExists(atPath: out.path + "/conv2d-filters-rgb.png"),
      "one input channel has no colour view")
    let kernel = try VisualizationFixture.npyHeader(out.path + "/weights/conv2d_kernel.npy")
    XCTAssertTrue(kernel.header.contains("'shape': (3, 3, 1, 4)"), kernel.header)
    XCTAssertEqual(kernel.dataCount, 36 * 4)
    let dense = try VisualizationFixture.npyHeader(out.path + "/weights/dense_kernel.npy")
    XCTAssertTrue(dense.header.contains("'shape': (36, 2)"), "Keras (in, out): \(dense.header)")
    let summary = try String(contentsOfFile: out.path + "/weights/summary.txt", encoding: .utf8)
    XCTAssertTrue(summary.contains("conv2d/kernel  (3, 3, 1, 4)"), summary)
    XCTAssertTrue(summary.contains("dense/bias"), summary)
    XCTAssertTrue(result.stdout.contains("wrote \(out.path)/conv2d-filters.png"), result.stdout)
    XCTAssertTrue(result.stdout.contains("wrote \(out.path)/weights/dense_bias.npy"), result.stdout)
  }

  func testOptionsChangeThePicture() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let plain = try TrainingCLI.run(["dump-weights", fixture.model, "-o", out.path + "/a"])
    let scaled = try TrainingCLI.run([
      "dump-weights", fixture.model, "-o", out.path + "/b", "--scale", "4", "--norm", "each",
      "--colormap", "gray",
    ])
    XCTAssertEqual(plain.status, 0, plain.stderr)
    XCTAssertEqual(scaled.status, 0, scaled.stderr)
    let a = try ImageFile.read(out.path + "/a/conv2d-filters.png")
    let b = try ImageFile.read(out.path + "/b/conv2d-filters.png")
    XCTAssertLessThan(b.height, a.height, "4 px per weight instead of 16")
  }

  func testANonConvolutionLayerIsAClearError() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let result = try TrainingCLI.run([
      "dump-weights", fixture.model, "--layer", "1", "-o", out.path,
    ])
    XCTAssertEqual(result.status, 1)
    XCTAssertTrue(result.stderr.contains("layer 1 is MaxPooling2D, expected Conv2D"), result.stderr)
  }

  func testMissingDefaultModelSuggestsTraining() throws {
    let out = try TrainingScratchFolder()
    let process = Process()
    process.executableURL = ConvvizBinary.url
    process.arguments = ["dump-weights"]
    process.currentDirectoryURL = URL(fileURLWithPath: out.path)
    let err = Pipe()
    process.standardError = err
    process.standardOutput = Pipe()
    try process.run()
    let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 1)
    XCTAssertTrue(message.contains("output/model.bin: no such model file"), message)
    XCTAssertTrue(message.contains("convviz train"), message)
  }

  func testMaxWidthShrinksTheFiltersAndIsChecked() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let narrow = try TrainingCLI.run([
      "dump-weights", fixture.model, "-o", out.path, "--max-width", "120",
    ])
    XCTAssertEqual(narrow.status, 0, narrow.stderr)
    let grid = try ImageFile.read(out.path + "/conv2d-filters.png")
    XCTAssertLessThanOrEqual(grid.width, 120, "2×2 filters and the colour bar, smaller tiles")
    let tooSmall = try TrainingCLI.run(["dump-weights", fixture.model, "--max-width", "10"])
    XCTAssertEqual(tooSmall.status, 64)
    XCTAssertTrue(tooSmall.stderr.contains("--max-width"), tooSmall.stderr)
  }

  func testBadNormalisationIsAUsageError() throws {
    let result = try TrainingCLI.run(["dump-weights", "x.bin", "--norm", "fixed:1,0"])
    XCTAssertEqual(result.status, 64)
    XCTAssertTrue(result.stderr.contains("--norm"), result.stderr)
  }
}
