import CNN
import Foundation
import ImageCodecs
import Tensors
import XCTest
@testable import Visualization

final class TrainingSnapshotTests: XCTestCase {
  func testSnapshotWritesFilterAndFeatureMapPictures() throws {
    let folder = NSTemporaryDirectory() + "snapshot-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var generator = SeededGenerator(seed: 1)
    let conv = Conv2D(inputChannels: 1, filters: 4, kernelSize: (3, 3), generator: &generator)
    let model = Sequential(inputShape: Shape(1, 8, 8), layers: [conv, Activation(.relu), Flatten()])
    let probe = Tensor(shape: Shape(1, 1, 8, 8), storage: (0..<64).map { Float($0 % 8) / 8 })
    let files = try writeTrainingSnapshot(model: model, probe: probe, epoch: 3, folder: folder)
    XCTAssertEqual(files.filters, folder + "/filters-epoch-003.png")
    XCTAssertEqual(files.featureMaps, folder + "/featuremaps-epoch-003.png")
    let filters = try ImageFile.read(files.filters)
    let expected = WeightGrid(kernel: conv.kernel.value, title: "Epoch 3: first-layer filters").render()
    XCTAssertEqual(filters, expected, "the PNG holds exactly the rendered grid")
    let maps = try ImageFile.read(files.featureMaps)
    XCTAssertGreaterThan(maps.width, 2 * 6)
  }

  func testSnapshotNeedsAConvolution() {
    let model = Sequential(inputShape: Shape(4), layers: [Activation(.relu)])
    XCTAssertThrowsError(try writeTrainingSnapshot(
      model: model, probe: Tensor(zeros: Shape(1, 4)), epoch: 1, folder: NSTemporaryDirectory())) {
      XCTAssertEqual("\($0)", "the model has no Conv2D layer")
    }
  }

  func testWritingIntoAMissingFolderNamesThePath() {
    XCTAssertThrowsError(try PictureFile.write(Canvas(width: 2, height: 2).image, to: "/nonexistent-dir/a.png")) {
      XCTAssertTrue("\($0)".contains("/nonexistent-dir/a.png"), "\($0)")
    }
  }
}
