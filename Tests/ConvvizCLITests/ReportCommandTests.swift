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

  /// The Explanations section: Grad-CAM of correct and misclassified test
  /// images with class names and probabilities in the captions, the first
  /// convolution's maximizing images and top patches; left out on request.
  func testExplanationsShowGradCAMMaximizingImagesAndTopPatches() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let page = out.path + "/report.html"
    let result = try TrainingCLI.run([
      "report", fixture.model, "--data", fixture.data, "-o", page,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let html = try String(contentsOfFile: page, encoding: .utf8)
    let parts = html.components(separatedBy: "<h2>Explanations</h2>")
    XCTAssertEqual(parts.count, 2, "one Explanations section")
    let section = parts.count == 2 ? parts[1] : ""
    XCTAssertTrue(section.contains("<h3>Grad-CAM</h3>"))
    XCTAssertTrue(section.contains("units respond to</h3>"))
    let images = section.components(separatedBy: "<img src=\"data:image/png;base64,").count - 1
    let captions = section.components(separatedBy: "<figcaption>").dropFirst().map {
      $0.components(separatedBy: "</figcaption>")[0]
    }
    XCTAssertEqual(images, captions.count)
    // As many correct and wrong images as the evaluation counted, up to 4
    // each; a wrong one's caption names both classes.
    let scored = html.components(separatedBy: "% (")[1].components(separatedBy: ")")[0]
    let counts = scored.split(separator: "/").compactMap { Int($0) }
    XCTAssertEqual(counts.count, 2, scored)
    let (right, total) = (counts.first ?? 0, counts.last ?? 0)
    let gradCAM = captions.filter { $0.hasPrefix("sample ") }
    let wrong = gradCAM.filter { $0.contains("true ") && $0.contains(", said ") }
    XCTAssertEqual(wrong.count, min(4, total - right), "\(captions)")
    XCTAssertEqual(gradCAM.count - wrong.count, min(4, right), "\(captions)")
    for caption in gradCAM {
      XCTAssertNotNil(
        caption.range(
          of: #"^sample \d+: (true [01], said [01]|[01]) p=[01]\.\d\d$"#,
          options: .regularExpression), caption)
    }
    XCTAssertTrue(
      captions.contains { $0.contains("convviz maximize --layer conv2d") }, "\(captions)")
    XCTAssertTrue(
      captions.contains { $0.contains("convviz top-patches --layer conv2d") }, "\(captions)")
    XCTAssertEqual(images, gradCAM.count + 2)

    let without = try TrainingCLI.run([
      "report", fixture.model, "--data", fixture.data, "--no-explanations", "-o", page,
    ])
    XCTAssertEqual(without.status, 0, without.stderr)
    XCTAssertFalse(try String(contentsOfFile: page, encoding: .utf8).contains("Explanations"))
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
    // Without data, Grad-CAM explains the sample (at the model's input size).
    let explanations = html.components(separatedBy: "<h2>Explanations</h2>").last ?? ""
    XCTAssertNotNil(
      explanations.range(
        of: "<figcaption>" + fixture.photo + #": [01] p=[01]\.\d\d</figcaption>"#,
        options: .regularExpression), explanations.prefix(2000).description)
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
