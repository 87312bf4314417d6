import Engine
import ModelFormats
import Training
import Foundation
import ImageCodecs
import Tensors
import XCTest

@testable import Visualization

final class TrainingSnapshotTests: XCTestCase {
  /// A model file built from `spec` with weights drawn from `seed`.
  static func modelFile(_ spec: String, seed: UInt64) throws -> ModelFile {
    let spec = try ModelSpec.parse(spec)
    return ModelFile(
      spec: spec, metadata: TrainingMetadata(),
      parameters: spec.makeModel(seed: seed).namedParameters(spec))
  }

  func testSnapshotWritesFilterAndFeatureMapPictures() throws {
    let folder = NSTemporaryDirectory() + "snapshot-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let model = try Self.modelFile("input 8 8 1\nconv2d 4 3 relu\nflatten\n", seed: 1)
    let probe = Tensor(shape: Shape(1, 1, 8, 8), storage: (0..<64).map { Float($0 % 8) / 8 })
    let files = try writeTrainingSnapshot(model: model, probe: probe, epoch: 3, folder: folder)
    XCTAssertEqual(files.filters, folder + "/filters-epoch-003.png")
    XCTAssertEqual(files.featureMaps, folder + "/featuremaps-epoch-003.png")
    let filters = try ImageFile.read(files.filters)
    let expected = WeightGrid(
      kernel: model.parameters[0].tensor, title: "Epoch 3: first-layer filters"
    ).render()
    XCTAssertEqual(filters, expected, "the PNG holds exactly the rendered grid")
    let maps = try ImageFile.read(files.featureMaps)
    XCTAssertGreaterThan(maps.width, 2 * 6)
  }

  func testSnapshotNeedsAConvolution() throws {
    let model = try Self.modelFile("input 2 2 1\nactivation relu\n", seed: 1)
    XCTAssertThrowsError(
      try writeTrainingSnapshot(
        model: model, probe: Tensor(zeros: Shape(1, 1, 2, 2)), epoch: 1,
        folder: NSTemporaryDirectory())
    ) {
      XCTAssertEqual("\($0)", "the model has no Conv2D layer")
    }
  }

  func testWritingIntoAMissingFolderNamesThePath() {
    XCTAssertThrowsError(
      try PictureFile.write(Canvas(width: 2, height: 2).image, to: "/nonexistent-dir/a.png")
    ) {
      XCTAssertTrue("\($0)".contains("/nonexistent-dir/a.png"), "\($0)")
    }
  }
}

final class TrainingPicturesTests: XCTestCase {
  func testCurvesAndConfusionMatrixAreWrittenBesideTheModel() throws {
    let folder = NSTemporaryDirectory() + "pictures-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let prefix = TrainingPictures.prefix(forModelAt: folder + "/model.bin")
    XCTAssertEqual(prefix, folder + "/model")
    XCTAssertEqual(TrainingPictures.prefix(forModelAt: "a.b/model"), "a.b/model")
    let history = [
      EpochRecord(epoch: 1, loss: 0.5, accuracy: 0.8, seconds: 1),
      EpochRecord(epoch: 2, loss: 0.2, accuracy: 0.9, seconds: 1),
    ]
    let paths = try TrainingPictures.writeCurves(history, pathPrefix: prefix)
    XCTAssertEqual(paths, [folder + "/model-loss.png", folder + "/model-accuracy.png"])
    XCTAssertEqual(try ImageFile.read(paths[0]), TrainingCurves.lossPlot(history).render())
    XCTAssertEqual(try TrainingPictures.writeCurves([], pathPrefix: prefix), [])
    try TrainingPictures.writeConfusionMatrix([[3, 1], [0, 4]], to: folder + "/confusion.png")
    let expected = ConfusionMatrixPlot(counts: [[3, 1], [0, 4]], classNames: ["0", "1"]).render()
    XCTAssertEqual(try ImageFile.read(folder + "/confusion.png"), expected)
  }
}

final class ModelFileSnapshotTests: XCTestCase {
  /// The feature-map picture shows the first convolution's rectified maps,
  /// computed here layer by layer without the network's plan.
  func testSnapshotShowsTheFirstConvolutionsActivations() throws {
    let folder = NSTemporaryDirectory() + "snapshot-file-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let file = try TrainingSnapshotTests.modelFile(
      "input 8 8 1\nconv2d 3 3 relu\nflatten\ndense 2 softmax\n", seed: 4)
    let probe = Tensor(shape: Shape(1, 1, 8, 8), storage: (0..<64).map { Float($0 % 5) / 5 })
    let written = try writeTrainingSnapshot(model: file, probe: probe, epoch: 2, folder: folder)
    var conv = Conv2D(kernel: file.parameters[0].tensor, bias: file.parameters[1].tensor)
    var relu = Activation(.relu)
    let maps = try relu.forward(conv.forward(probe, mode: .inference), mode: .inference)
    let expected = snapshotPictures(kernel: file.parameters[0].tensor, maps: maps, epoch: 2)
    XCTAssertEqual(try ImageFile.read(written.featureMaps), expected.featureMaps.image)
  }
}
