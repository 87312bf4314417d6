import Foundation
import XCTest

final class ReportCommandTests: XCTestCase {
  func testReportIsOneSelfContainedPageWithEverySection() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let page = out.path + "/site/report.html"
    let result = try TrainingCLI.run([
      "report", fixture.model, "--data", fixture.data, "--sample", fixture.photo, "-o", page,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("wrote \(page)"), result.stdout)
    let html = try String(contentsOfFile: page, encoding: .utf8)
    for heading in ["Model", "Training", "Evaluation", "Filters", "Feature maps"] {
      XCTAssertTrue(html.contains("<h2>\(heading)</h2>"), "section \(heading)")
    }
    XCTAssertTrue(html.contains("conv2d (Conv2D)"))
    XCTAssertTrue(html.contains("test split of \(fixture.data): 20 samples"), html)
    let images = html.components(separatedBy: "<img src=\"data:image/png;base64,").count - 1
    XCTAssertGreaterThanOrEqual(images, 6, "curves, confusion matrix, filters, input, maps")
    XCTAssertFalse(html.contains("<script"))
    XCTAssertFalse(html.contains("src=\"http"))
  }

  func testParameterCountsKeepTheirThousandsSeparators() throws {
    let folder = try TrainingScratchFolder()
    try TrainEndToEndTests.writeBars(to: folder, count: 8)
    // 3×3×1×32+32 = 320 and 6×6×32×2+2 = 2,306 parameters: 2,626 in all.
    let spec = try folder.write(
      Array("input 8 8 1\nconv2d 32 3 relu\nflatten\ndense 2 softmax\n".utf8), to: "wide.txt")
    let model = folder.path + "/wide.bin"
    let trained = try TrainingCLI.run([
      "train", "--model", spec, "--data", folder.path + "/data", "--epochs", "1", "-o", model,
    ])
    XCTAssertEqual(trained.status, 0, trained.stderr)
    let page = folder.path + "/report.html"
    let result = try TrainingCLI.run(["report", model, "-o", page])
    XCTAssertEqual(result.status, 0, result.stderr)
    let html = try String(contentsOfFile: page, encoding: .utf8)
    XCTAssertTrue(html.contains("<td class=\"num\">2,306</td>"), "dense layer")
    XCTAssertTrue(html.contains("<td class=\"num\">2,626</td>"), "total")
  }

  func testWithoutDataThereIsNoEvaluation() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let page = out.path + "/report.html"
    let result = try TrainingCLI.run([
      "report", fixture.model, "--sample", fixture.photo, "-o", page,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let html = try String(contentsOfFile: page, encoding: .utf8)
    XCTAssertFalse(html.contains("<h2>Evaluation</h2>"))
    XCTAssertTrue(html.contains("<h2>Filters</h2>"))
  }
}

final class ReportPicturesFromTrainingTests: XCTestCase {
  func testTrainingLeavesCurvesConfusionMatrixAndSnapshots() throws {
    let fixture = try VisualizationFixture.trained()
    let folder = (fixture.model as NSString).deletingLastPathComponent
    for name in [
      "model-loss.png", "model-accuracy.png", "model-confusion.png",
      "model-snapshots/filters-epoch-001.png", "model-snapshots/featuremaps-epoch-002.png",
    ] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/" + name), name)
    }
    XCTAssertTrue(
      VisualizationFixture.trainOutput.contains(
        "wrote \(folder)/model-snapshots/filters-epoch-002.png and "),
      VisualizationFixture.trainOutput)
  }
}
