import XCTest

@testable import convviz

final class SummaryCommandTests: XCTestCase {
  func testParsesModelArgument() throws {
    let command = try Summary.parse(["mnist-cnn"])
    XCTAssertEqual(command.model, "mnist-cnn")
    XCTAssertThrowsError(try Summary.parse([]))
  }

  func testPresetTableTotals() throws {
    let result = try TrainingCLI.run(["summary", "mnist-cnn"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("Total params: 933,378"), result.stdout)
    XCTAssertTrue(result.stdout.contains("3×3×1×32+32 = 320"), result.stdout)
    XCTAssertTrue(result.stdout.contains("(None, 12, 12, 32)"), result.stdout)
  }

  func testSpecFileAndBadInputs() throws {
    let folder = try TrainingScratchFolder()
    let spec = try folder.write(
      Array("input 8 8 1\nconv2d 4 3 relu\nflatten\ndense 2 softmax\n".utf8), to: "tiny.txt")
    let ok = try TrainingCLI.run(["summary", spec])
    XCTAssertEqual(ok.status, 0, ok.stderr)
    // 3×3×1×4+4 = 40, then 6×6×4 = 144 → 144×2+2 = 290.
    XCTAssertTrue(ok.stdout.contains("Total params: 330"), ok.stdout)

    let broken = try folder.write(Array("input 8 8 1\nconv9d 4\n".utf8), to: "broken.txt")
    let bad = try TrainingCLI.run(["summary", broken])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains("broken.txt"), bad.stderr)
    XCTAssertTrue(bad.stderr.contains("line 2"), bad.stderr)

    let missing = try TrainingCLI.run(["summary", "no-such-model"])
    XCTAssertNotEqual(missing.status, 0)
    XCTAssertTrue(missing.stderr.contains("mnist-cnn"), "lists the presets: \(missing.stderr)")
  }
}
