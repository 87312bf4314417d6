import Engine
import ModelFormats
import Training
import XCTest

@testable import convviz

final class EvaluateCommandTests: XCTestCase {
  func testParses() throws {
    let command = try Evaluate.parse(["m.bin", "--data", "d", "--split", "train", "--limit", "5"])
    XCTAssertEqual(command.model, "m.bin")
    XCTAssertEqual(command.data.folder, "d")
    XCTAssertEqual(command.split, .train)
    XCTAssertEqual(command.data.limit, 5)
    XCTAssertNil(try Evaluate.parse(["m.bin", "--data", "d"]).split)
    XCTAssertThrowsError(try Evaluate.parse(["m.bin"]), "--data is required")
    XCTAssertThrowsError(try Evaluate.parse(["m.bin", "--data", "d", "--split", "valid"]))
    XCTAssertThrowsError(try Evaluate.parse(["m.bin", "--data", "d", "--batch-size", "0"]))
  }

  func testReportCountsPerClassAndConfusion() {
    let text = Evaluate.report(
      loss: 0.25, accuracy: 0.6, confusion: [[2, 1, 0], [0, 1, 0], [1, 0, 0]],
      classNames: ["cat", "dog", "fox"])
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    XCTAssertEqual(lines[0], "loss 0.2500  accuracy 0.6000 (3/5)")
    XCTAssertEqual(lines[3], "cat      0.6667            2/3")
    XCTAssertEqual(lines[4], "dog      1.0000            1/1")
    XCTAssertEqual(lines[5], "fox      0.0000            0/1")
    XCTAssertEqual(lines[8], "        cat   dog   fox")
    XCTAssertEqual(lines[9], "cat       2     1     0")
  }

  func testClassWithoutSamplesShowsADash() {
    let text = Evaluate.report(loss: 0, accuracy: 1, confusion: [[1, 0], [0, 0]], classNames: [])
    XCTAssertTrue(text.contains("1             -            0/0"), text)
  }
}
