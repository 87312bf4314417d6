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
    XCTAssertEqual(lines[2], "class  accuracy  correct/total  precision      f1")
    // Precision and F1 worked by hand; nothing was predicted as a fox.
    XCTAssertEqual(lines[3], "cat      0.6667            2/3     0.6667  0.6667")
    XCTAssertEqual(lines[4], "dog      1.0000            1/1     0.5000  0.6667")
    XCTAssertEqual(lines[5], "fox      0.0000            0/1          -       -")
    XCTAssertEqual(lines[8], "        cat   dog   fox")
    XCTAssertEqual(lines[9], "cat       2     1     0")
  }

  func testLongClassNamesAreNotCutInTheConfusionCounts() {
    let text = Evaluate.report(
      loss: 0, accuracy: 1, confusion: [[1, 0, 0], [0, 2, 0], [0, 0, 3]],
      classNames: ["airplane", "automobile", "bird"])
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let heading = try! XCTUnwrap(lines.firstIndex { $0.hasPrefix("confusion counts") })
    XCTAssertEqual(
      lines[heading], "confusion counts (rows: true class, columns: predicted class, by number)")
    XCTAssertEqual(lines[heading + 1], String(repeating: " ", count: 13) + "    0     1     2")
    XCTAssertEqual(lines[heading + 2], "0 airplane       1     0     0")
    XCTAssertEqual(lines[heading + 3], "1 automobile     0     2     0")
    XCTAssertEqual(lines[heading + 4], "2 bird           0     0     3")
  }

  func testClassWithoutSamplesShowsADash() {
    let text = Evaluate.report(loss: 0, accuracy: 1, confusion: [[1, 0], [0, 0]], classNames: [])
    XCTAssertTrue(text.contains("1             -            0/0          -       -"), text)
  }

  func testClassAbsentFromTheDataIsSaidSoNotScored() {
    let text = Evaluate.report(
      loss: 0, accuracy: 1, confusion: [[0, 0], [0, 3]], classNames: ["airplane", "cat"],
      absent: [0])
    XCTAssertTrue(text.contains("airplane         -  not in the data"), text)
    XCTAssertTrue(text.contains("cat         1.0000            3/3     1.0000  1.0000"), text)
  }
}
