import Foundation
import XCTest

@testable import Engine
@testable import ModelFormats

final class SummaryTests: XCTestCase {
  func testMNISTCNNTotalsTheSeedsCount() {
    let summary = ModelSummary(Preset.mnistCNN.spec)
    XCTAssertEqual(summary.totalCount, 933_378)
    XCTAssertEqual(summary.trainableCount, 933_378)
    XCTAssertEqual(summary.nonTrainableCount, 0)
    XCTAssertEqual(summary.rows[0].formula, "3×3×1×32+32 = 320")
    XCTAssertEqual(summary.rows[1].formula, "3×3×32×32+32 = 9,248")
    XCTAssertEqual(summary.rows[5].formula, "4608×200+200 = 921,800")
    XCTAssertEqual(summary.rows[6].formula, "200×10+10 = 2,010")
    XCTAssertEqual(summary.rows[4].outputShape.description, "(None, 4608)")
  }

  func testVGG16Totals() {
    let summary = ModelSummary(Preset.vgg16.spec)
    XCTAssertEqual(summary.totalCount, 138_357_544)
    XCTAssertEqual(summary.rows.count, 13 + 5 + 1 + 3)
    XCTAssertEqual(summary.rows.last?.name, "dense_2")
    XCTAssertEqual(summary.rows[17].outputShape, .image(height: 7, width: 7, channels: 512))
  }

  /// Keras's cifar10_cnn example prints these counts, 1,250,858 in all.
  func testCIFARCNNPerLayerCounts() {
    let summary = ModelSummary(Preset.cifarCNN.spec)
    XCTAssertEqual(
      summary.rows.map(\.parameterCount),
      [896, 9248, 0, 0, 18496, 36928, 0, 0, 0, 1_180_160, 0, 5130])
    XCTAssertEqual(
      summary.rows.map(\.name),
      [
        "conv2d", "conv2d_1", "max_pooling2d", "dropout", "conv2d_2", "conv2d_3",
        "max_pooling2d_1", "dropout_1", "flatten", "dense", "dropout_2", "dense_1",
      ])
    XCTAssertEqual(summary.rows[5].outputShape, .image(height: 13, width: 13, channels: 64))
    XCTAssertEqual(summary.totalCount, 1_250_858)
  }

  /// Names, output shapes and counts as Keras 3 prints them for the same
  /// networks (Fixtures/summaries/generate.py).
  func testRowsMatchKerasFixtures() throws {
    let url = try XCTUnwrap(
      Bundle.module.url(
        forResource: "keras_summaries", withExtension: "txt", subdirectory: "Fixtures/summaries"))
    var expected: [String: [String]] = [:]
    for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
    where !line.hasPrefix("#") {
      let fields = line.split(separator: " ")
      expected[String(fields[0]), default: []].append(fields.dropFirst().joined(separator: " "))
    }
    XCTAssertEqual(expected.count, 3)
    for (name, rows) in expected {
      let preset = try XCTUnwrap(Preset(rawValue: name))
      let ours = ModelSummary(preset.spec).rows.map { row in
        let shape = row.outputShape.description.replacingOccurrences(of: " ", with: "")
        return "\(row.name) \(shape) \(row.parameterCount)"
      }
      XCTAssertEqual(ours, rows, name)
    }
  }

  func testMNISTMLPMatchesKerasExample() {
    XCTAssertEqual(ModelSummary(Preset.mnistMLP.spec).totalCount, 669_706)
  }

  func testRenderedTable() {
    let text = ModelSummary(Preset.mnistCNN.spec).render()
    let lines = text.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines[0], "Model: \"sequential\"")
    XCTAssertTrue(lines[2].hasPrefix("Layer (type)"))
    let conv = lines.first { $0.hasPrefix("conv2d (Conv2D)") }
    XCTAssertNotNil(conv)
    XCTAssertTrue(conv?.contains("(None, 26, 26, 32)") ?? false)
    XCTAssertTrue(conv?.hasSuffix("320  3×3×1×32+32 = 320") ?? false, conv ?? "")
    XCTAssertTrue(lines.contains("Total params: 933,378"))
    XCTAssertTrue(lines.contains("Trainable params: 933,378"))
    XCTAssertTrue(lines.contains("Non-trainable params: 0"))
    XCTAssertTrue(lines.contains { $0.hasPrefix("dropout (Dropout)") && $0.hasSuffix(" 0") })
  }

  func testGroupedDigits() {
    XCTAssertEqual(groupedDigits(0), "0")
    XCTAssertEqual(groupedDigits(999), "999")
    XCTAssertEqual(groupedDigits(1000), "1,000")
    XCTAssertEqual(groupedDigits(138_357_544), "138,357,544")
  }
}
