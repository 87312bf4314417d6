import Datasets
import XCTest

@testable import convviz

final class PredictCommandTests: XCTestCase {
  func testParses() throws {
    let command = try Predict.parse(["m.bin", "a.png", "b.jpg", "--top", "5"])
    XCTAssertEqual(command.images, ["a.png", "b.jpg"])
    XCTAssertEqual(command.top, 5)
    XCTAssertEqual(try Predict.parse(["m.bin", "a.png"]).top, 3)
    XCTAssertThrowsError(try Predict.parse(["m.bin"]), "needs an image")
    XCTAssertThrowsError(try Predict.parse(["m.bin", "a.png", "--top", "0"]))
  }

  func testTopClassesRankByProbabilityThenIndex() {
    let names = ["zero", "one", "two", "three"]
    XCTAssertEqual(
      Predict.topClasses([0.1, 0.6, 0.1, 0.2], names: names, k: 3),
      "one 0.6000  three 0.2000  zero 0.1000")
    XCTAssertEqual(
      Predict.topClasses([0.25, 0.25, 0.25, 0.25], names: names, k: 9).split(separator: " ").count,
      8)
  }

  func testMNISTReferenceSyntaxErrors() {
    XCTAssertThrowsError(try Predict.load("mnist:file.gz")) { error in
      XCTAssertTrue(String(describing: error).contains("mnist:PATH#INDEX"), "\(error)")
    }
    XCTAssertThrowsError(try Predict.load("mnist:/no/such/file#2")) { error in
      guard case .unreadable(let path, _)? = error as? DatasetError else {
        return XCTFail("expected unreadable, got \(error)")
      }
      XCTAssertEqual(path, "/no/such/file")
    }
  }
}
