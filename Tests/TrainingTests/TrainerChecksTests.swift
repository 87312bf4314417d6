import Datasets
import Foundation
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats
@testable import Training

/// What the trainer refuses before the first epoch, and how it stops when
/// training diverges (issues 14 and 15).
final class TrainerChecksTests: XCTestCase {
  private let spec = Stripes.network  // 3 classes

  private func trainer(_ optimizer: OptimizerConfiguration, epochs: Int = 1) throws -> Trainer {
    try Trainer(
      spec: spec, optimizer: optimizer,
      configuration: TrainingConfiguration(epochs: epochs, batchSize: 16, seed: 1))
  }

  func testNonFiniteOrOutOfRangeHyperParametersAreRefused() {
    for optimizer in [
      OptimizerConfiguration.adadelta(learningRate: .infinity, rho: 0.95, epsilon: 1e-7),
      .adam(learningRate: .nan, beta1: 0.9, beta2: 0.999, epsilon: 1e-7),
      .sgd(learningRate: -1, momentum: 0, nesterov: false),
      .rmsprop(learningRate: 0.001, rho: .nan, momentum: 0, epsilon: 1e-7),
      .adam(learningRate: 0.001, beta1: 1, beta2: 0.999, epsilon: 1e-7),
      .adadelta(learningRate: 1, rho: 0.95, epsilon: .infinity),
    ] {
      XCTAssertThrowsError(try trainer(optimizer), "\(optimizer)") { error in
        guard case .invalidOptimizer? = error as? TrainerError else {
          return XCTFail("\(error)")
        }
      }
    }
    XCTAssertEqual(
      OptimizerConfiguration.adadelta(learningRate: .infinity, rho: 0.95, epsilon: 1e-7).problem,
      "learning_rate must be a finite number above 0, not inf")
  }

  func testOutputSizeThatDisagreesWithTheClassesIsRefusedWithBothNumbers() throws {
    var trainer = try trainer(.defaults(for: .adadelta))
    var data = Stripes.data(count: 20, seed: 1)
    data.classNames = ["left", "right"]
    data.labels = data.labels.map { min($0, 1) }
    XCTAssertThrowsError(try trainer.fit(data)) { error in
      XCTAssertEqual(
        error as? TrainerError,
        .classCountMismatch(modelOutputs: 3, dataClasses: ["left", "right"]))
      XCTAssertEqual(
        "\(error)",
        "the model's last layer has 3 outputs but the data has 2 classes (left, right); "
          + "end the spec with `dense 2 softmax` (presets size their last layer to the data)")
    }
    XCTAssertEqual(trainer.epochsCompleted, 0)
  }

  func testDataWithOtherClassNamesThanTheCheckpointIsRefused() throws {
    var named = try Trainer(
      spec: spec, optimizer: .defaults(for: .adadelta),
      configuration: TrainingConfiguration(epochs: 1, batchSize: 16, seed: 1),
      classNames: ["left", "right", "bottom"])
    XCTAssertThrowsError(try named.fit(Stripes.data(count: 20, seed: 1))) { error in
      guard case .classNamesMismatch? = error as? TrainerError else { return XCTFail("\(error)") }
    }
    var unnamed = try trainer(.defaults(for: .adadelta))
    try unnamed.fit(Stripes.data(count: 20, seed: 1))
    XCTAssertEqual(unnamed.classNames, ["left", "right", "top"], "taken from the data")
  }

  /// A huge learning rate blows the weights up within a few steps: the run
  /// stops at the first non-finite loss and writes nothing.
  func testDivergingRunStopsAndWritesNoModel() throws {
    try withFolder { folder in
      let path = folder + "/model.bin"
      var trainer = try trainer(
        .adam(learningRate: 1e38, beta1: 0.9, beta2: 0.999, epsilon: 1e-7), epochs: 3)
      XCTAssertThrowsError(
        try trainer.fit(Stripes.data(count: 200, seed: 2), checkpointPath: path)
      ) { error in
        guard
          case .diverged(_, let epoch, let batch, let batches, _, let kept)? =
            error as? TrainerError
        else { return XCTFail("\(error)") }
        XCTAssertEqual(kept, 0)
        XCTAssertTrue((1...3).contains(epoch) && (1...batches).contains(batch ?? 0))
        XCTAssertTrue("\(error)".hasPrefix("training diverged: the "), "\(error)")
        XCTAssertTrue("\(error)".contains("nothing was saved to \(path)"), "\(error)")
      }
      XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
  }

  /// A loss that turns NaN in epoch 2 leaves epoch 1's checkpoint untouched.
  func testNonFiniteLossKeepsTheLastGoodCheckpoint() throws {
    try withFolder { folder in
      let path = folder + "/model.bin"
      let good = Stripes.data(count: 40, seed: 3)
      let linear = try ModelSpec.parse("input 4 4 1\nflatten\ndense 3 softmax\n")
      var trainer = try Trainer(
        spec: linear, optimizer: .defaults(for: .adadelta),
        configuration: TrainingConfiguration(epochs: 1, batchSize: 16, seed: 1))
      try trainer.fit(good, checkpointPath: path)
      let saved = try Data(contentsOf: URL(fileURLWithPath: path))
      var poisoned = good
      poisoned.images.storage[5 * 16] = .nan  // sample 5, in some batch of epoch 2
      trainer.configuration.epochs = 2
      XCTAssertThrowsError(try trainer.fit(poisoned, checkpointPath: path)) { error in
        guard
          case .diverged(let what, let epoch, let batch, let batches, _, let kept)? =
            error as? TrainerError
        else { return XCTFail("\(error)") }
        XCTAssertEqual([epoch, batches, kept], [2, 3, 1])
        XCTAssertNotNil(batch)
        XCTAssertEqual(what, "the loss became nan")
        XCTAssertTrue("\(error)".contains("\(path) keeps epoch 1, the last good one"))
      }
      XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), saved)
      XCTAssertEqual(try ModelFile.read(from: path).metadata.epochsCompleted, 1)
    }
  }

  /// Behind a ReLU a NaN input becomes 0 and the loss stays finite while the
  /// convolution's weights turn NaN: the end-of-epoch check catches it.
  func testNonFiniteWeightsAreCaughtAtTheEndOfTheEpoch() throws {
    var poisoned = Stripes.data(count: 40, seed: 3)
    poisoned.images.storage[7] = .nan
    var trainer = try trainer(.defaults(for: .adadelta))
    XCTAssertThrowsError(try trainer.fit(poisoned)) { error in
      XCTAssertEqual(
        "\(error)",
        "training diverged: the weights stopped being finite during epoch 1; "
          + "lower the learning rate")
    }
    XCTAssertEqual(trainer.epochsCompleted, 0)
  }

  private func withFolder(_ body: (String) throws -> Void) throws {
    let folder = NSTemporaryDirectory() + "trainer-checks-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try body(folder)
  }
}
