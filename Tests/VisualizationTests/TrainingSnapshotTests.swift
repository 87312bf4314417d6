import Engine
import ModelFormats
import Training
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
    let model = Sequential(
      inputShape: Shape(1, 8, 8), layers: [conv, Activation(.relu), Flatten()])
    let probe = Tensor(shape: Shape(1, 1, 8, 8), storage: (0..<64).map { Float($0 % 8) / 8 })
    let files = try writeTrainingSnapshot(model: model, probe: probe, epoch: 3, folder: folder)
    XCTAssertEqual(files.filters, folder + "/filters-epoch-003.png")
    XCTAssertEqual(files.featureMaps, folder + "/featuremaps-epoch-003.png")
    let filters = try ImageFile.read(files.filters)
    let expected = WeightGrid(kernel: conv.kernel.value, title: "Epoch 3: first-layer filters")
      .render()
    XCTAssertEqual(filters, expected, "the PNG holds exactly the rendered grid")
    let maps = try ImageFile.read(files.featureMaps)
    XCTAssertGreaterThan(maps.width, 2 * 6)
  }

  func testSnapshotNeedsAConvolution() {
    let model = Sequential(inputShape: Shape(4), layers: [Activation(.relu)])
    XCTAssertThrowsError(
      try writeTrainingSnapshot(
        model: model, probe: Tensor(zeros: Shape(1, 4)), epoch: 1, folder: NSTemporaryDirectory())
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
  func testSnapshotFromAModelFileMatchesTheEngineModel() throws {
    let folder = NSTemporaryDirectory() + "snapshot-file-\(UUID().uuidString)"
    try FileManager.default.createDirectory(
      atPath: folder + "/a", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      atPath: folder + "/b", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let spec = try ModelSpec.parse("input 8 8 1\nconv2d 3 3 relu\nflatten\ndense 2 softmax\n")
    let model = spec.makeModel(seed: 4)
    var file: ModelFile?
    var copy = model
    var parameters: [NamedTensor] = []
    var names = spec.parameterShapes.map(\.name).makeIterator()
    copy.forEachParameter { parameters.append(NamedTensor(name: names.next()!, tensor: $0.value)) }
    file = ModelFile(spec: spec, metadata: TrainingMetadata(), parameters: parameters)
    let probe = Tensor(shape: Shape(1, 1, 8, 8), storage: (0..<64).map { Float($0 % 5) / 5 })
    let fromEngine = try writeTrainingSnapshot(
      model: model, probe: probe, epoch: 2, folder: folder + "/a")
    let fromFile = try writeTrainingSnapshot(
      model: file!, probe: probe, epoch: 2, folder: folder + "/b")
    XCTAssertEqual(try ImageFile.read(fromEngine.filters), try ImageFile.read(fromFile.filters))
    XCTAssertEqual(
      try ImageFile.read(fromEngine.featureMaps), try ImageFile.read(fromFile.featureMaps))
  }
}
