import Foundation
import ImageCodecs
import XCTest

/// `predict` treats its images as `filter` does: a bad one is reported with
/// one line and the others are still predicted; the exit status says that
/// something failed.
final class PredictFailureTests: XCTestCase {
  func testOneUnreadableImageAmongGoodOnesIsReportedAndTheRestPredicted() throws {
    let folder = try TrainingScratchFolder()
    let model = try CommandConventionTests.untrainedModel(
      "input 4 4 1\nflatten\ndense 2 softmax\n", in: folder)
    let good = ["a.png", "c.png"].map { folder.path + "/" + $0 }
    for path in good {
      try ImageFile.write(
        Image(width: 4, height: 4, layout: .gray, samples: [UInt8](repeating: 50, count: 16)),
        to: path)
    }
    let broken = try folder.write(Array("not an image".utf8), to: "b.png")
    let missing = folder.path + "/missing.png"
    let result = try TrainingCLI.run(["predict", model, good[0], broken, missing, good[1]])
    XCTAssertEqual(result.status, 1, result.stderr)
    XCTAssertEqual(
      result.stdout, "\(good[0]): 0 0.5000  1 0.5000\n\(good[1]): 0 0.5000  1 0.5000\n")
    let lines = result.stderr.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.count, 3, result.stderr)
    XCTAssertTrue(lines[0].hasPrefix("convviz: error: \(broken): "), lines[0])
    XCTAssertTrue(lines[1].hasPrefix("convviz: error: \(missing): "), lines[1])
    XCTAssertEqual(lines[2], "convviz: error: 2 of 4 images failed")

    // Nothing readable: the errors, and no predictions.
    let none = try TrainingCLI.run(["predict", model, broken])
    XCTAssertEqual(none.status, 1)
    XCTAssertEqual(none.stdout, "")
    XCTAssertEqual(none.stderr.split(separator: "\n").count, 1, none.stderr)
  }
}
