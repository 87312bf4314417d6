import Datasets
import Foundation
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats
@testable import Training

/// Learning-rate schedules, early stopping and the best model (issue 12).
final class EpochControlTests: XCTestCase {
  private func records(_ losses: [Double]) -> [EpochRecord] {
    losses.enumerated().map {
      EpochRecord(epoch: $0.offset + 1, loss: 1, accuracy: 0, validationLoss: $0.element)
    }
  }

  private func rates(
    _ schedule: LearningRateSchedule, epochs: Int, losses: [Double] = []
  )
    -> [Float]
  {
    (1...epochs).map { schedule.learningRate(epoch: $0, base: 1, history: records(losses)) }
  }

  // MARK: Schedules

  func testScheduleTextParsesAndRoundTrips() throws {
    XCTAssertEqual(try LearningRateSchedule(parsing: "step:10:0.5"), .step(epochs: 10, factor: 0.5))
    XCTAssertEqual(try LearningRateSchedule(parsing: "cosine"), .cosine(epochs: nil))
    XCTAssertEqual(try LearningRateSchedule(parsing: "cosine:30"), .cosine(epochs: 30))
    XCTAssertEqual(
      try LearningRateSchedule(parsing: "plateau"), .plateau(patience: 10, factor: 0.1))
    XCTAssertEqual(
      try LearningRateSchedule(parsing: "plateau:3:0.2"), .plateau(patience: 3, factor: 0.2))
    for text in ["step:10:0.5", "cosine:30", "plateau:3:0.2", "constant"] {
      XCTAssertEqual(try LearningRateSchedule(parsing: text).description, text)
    }
    for bad in [
      "step", "step:0:0.5", "step:10:1", "step:10:0", "step:10:nan", "step:x:0.5", "cosine:0",
      "plateau:3", "plateau:0:0.1", "plateau:3:1.5", "linear", "", "cosine:5:1",
    ] {
      XCTAssertThrowsError(try LearningRateSchedule(parsing: bad), bad) { error in
        guard case .invalidSchedule = error as? TrainerError else { return XCTFail("\(error)") }
      }
    }
  }

  func testStepHalvesEveryNEpochs() {
    XCTAssertEqual(
      rates(.step(epochs: 3, factor: 0.5), epochs: 7), [1, 1, 1, 0.5, 0.5, 0.5, 0.25])
  }

  /// PyTorch's `CosineAnnealingLR(T_max=4)`: 1, 0.8536, 0.5, 0.1464; then
  /// the last value holds.
  func testCosineFollowsPyTorchAndHoldsAfterItsPeriod() {
    let values = rates(.cosine(epochs: 4), epochs: 6)
    for (value, expected) in zip(
      values, [1, 0.853_553_4, 0.5, 0.146_446_6, 0.146_446_6, 0.146_446_6])
    {
      XCTAssertEqual(value, Float(expected), accuracy: 1e-6)
    }
  }

  /// Keras's ReduceLROnPlateau worked by hand: patience 2, factor 0.5,
  /// improvements must beat the best by more than 1e-4.
  func testPlateauReducesAfterPatienceEpochsWithoutImprovement() {
    let losses = [1.0, 0.9, 0.95, 0.89995, 0.91, 0.85, 0.86, 0.87, 0.88]
    // e1 best 1; e2 best .9; e3 wait 1; e4 (.89995 is within 1e-4) wait 2 → ×0.5;
    // e5 wait 1; e6 best .85; e7 wait 1; e8 wait 2 → ×0.5; e9 wait 1.
    XCTAssertEqual(
      rates(.plateau(patience: 2, factor: 0.5), epochs: 10, losses: losses),
      [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25])
  }

  // MARK: Training

  /// Stripes whose last 30% (the validation part) have random labels: the
  /// validation loss rises once the network fits the training part.
  private static func overfitting(count: Int = 100) -> Dataset {
    var data = Stripes.data(count: count, seed: 21)
    var generator = SeededGenerator(seed: 4)
    for i in Int(Double(count) * 0.7)..<count { data.labels[i] = Int(generator.next() % 3) }
    return data
  }

  private func trainer(
    epochs: Int, schedule: LearningRateSchedule = .constant, patience: Int? = nil,
    saveBest: Bool = false, optimizer: OptimizerConfiguration? = nil
  ) throws -> Trainer {
    try Trainer(
      spec: Stripes.network,
      optimizer: optimizer ?? .adam(learningRate: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1e-7),
      configuration: TrainingConfiguration(
        epochs: epochs, batchSize: 10, validationSplit: 0.3, seed: 2,
        learningRateSchedule: schedule, earlyStoppingPatience: patience, saveBest: saveBest),
      dataset: "stripes", classNames: ["left", "right", "top"])
  }

  private func withFolder(_ body: (String) throws -> Void) throws {
    let folder = NSTemporaryDirectory() + "epoch-control-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try body(folder)
  }

  func testScheduleSetsTheOptimizersRateAndFilesKeepTheBaseRate() throws {
    let data = Stripes.data(count: 60, seed: 1)
    let sgd = OptimizerConfiguration.sgd(learningRate: 0.1, momentum: 0, nesterov: false)
    var scheduled = try trainer(epochs: 3, schedule: .step(epochs: 1, factor: 0.5), optimizer: sgd)
    try scheduled.fit(data)
    XCTAssertEqual(scheduled.optimizer.learningRate, 0.025)
    XCTAssertEqual(scheduled.modelFile().metadata.optimizer, sgd)
    XCTAssertEqual(scheduled.modelFile().metadata.learningRateSchedule, "step:1:0.5")
    var constant = try trainer(epochs: 3, optimizer: sgd)
    try constant.fit(data)
    XCTAssertEqual(constant.optimizer.learningRate, 0.1)
    XCTAssertNotEqual(scheduled.modelFile().parameters, constant.modelFile().parameters)
    // The first epoch is the same under both: the schedule starts at the base rate.
    XCTAssertEqual(scheduled.history[0].loss, constant.history[0].loss)
    XCTAssertEqual(
      try trainer(epochs: 7, schedule: .cosine(epochs: nil)).configuration.learningRateSchedule,
      .cosine(epochs: 7), "the cosine period is the run's length, fixed at the start")
  }

  func testOptionsThatWatchValidationLossNeedASplit() {
    for (configuration, option) in [
      (
        TrainingConfiguration(learningRateSchedule: .plateau(patience: 2, factor: 0.5)),
        "--lr-schedule plateau"
      ),
      (TrainingConfiguration(earlyStoppingPatience: 2), "--early-stopping"),
      (TrainingConfiguration(saveBest: true), "--save-best"),
    ] {
      XCTAssertThrowsError(
        try Trainer(
          spec: Stripes.network, optimizer: .defaults(for: .adam), configuration: configuration)
      ) { error in
        XCTAssertEqual(error as? TrainerError, .needsValidation(option: option))
      }
    }
  }

  /// Training stops `patience` epochs after the best one, and the model is
  /// then the best epoch's: its validation loss is the best one recorded,
  /// and its weights are those --save-best wrote at that epoch.
  func testEarlyStoppingStopsAndRestoresTheBestEpoch() throws {
    try withFolder { folder in
      let data = Self.overfitting()
      var trainer = try trainer(epochs: 40, patience: 3, saveBest: true)
      let bestPath = folder + "/best.bin"
      try trainer.fit(data, checkpointPath: folder + "/m.bin", bestModelPath: bestPath)
      let best = try XCTUnwrap(trainer.bestEpoch)
      XCTAssertLessThan(trainer.epochsCompleted, 40, "stopped early")
      XCTAssertEqual(trainer.epochsCompleted, best + 3)
      XCTAssertTrue(trainer.stoppedEarly)
      let bestLoss = try XCTUnwrap(trainer.history[best - 1].validationLoss)
      XCTAssertEqual(trainer.history.compactMap(\.validationLoss).min(), bestLoss)

      let saved = try ModelFile.read(from: bestPath)
      XCTAssertNil(saved.checkpoint)
      XCTAssertEqual(saved.metadata.epochsCompleted, best)
      XCTAssertEqual(saved.parameters, trainer.modelFile().parameters)
      let checkpoint = try ModelFile.read(from: folder + "/m.bin")
      XCTAssertEqual(checkpoint.parameters, saved.parameters)
      XCTAssertEqual(checkpoint.metadata.keptWeights?.role, .last)
      XCTAssertNotEqual(checkpoint.metadata.keptWeights?.tensors, saved.parameters)

      let validation = data.splitValidation(fraction: 0.3).validation
      var model = trainer.model
      let metrics = try model.evaluation(
        on: validation, classCount: 3, batchSize: 100)
      XCTAssertEqual(metrics.loss, bestLoss, "the restored weights give the best epoch's loss")

      // A stopped run has nothing left to train, even with more epochs.
      var resumed = try Trainer.resume(from: folder + "/m.bin")
      resumed.configuration.epochs = 50
      XCTAssertTrue(resumed.stoppedEarly)
      XCTAssertEqual(try resumed.fit(data, checkpointPath: folder + "/m.bin"), [])
      XCTAssertEqual(resumed.modelFile().parameters, saved.parameters)
    }
  }

  /// Interrupted after the best epoch (so the checkpoint holds restored
  /// weights and keeps the last ones) and resumed: the same files as a
  /// straight run, bit for bit, with a plateau schedule, early stopping and
  /// the best model.
  func testResumedRunMatchesTheStraightRunWithEveryOption() throws {
    try withFolder { folder in
      let data = Self.overfitting()
      let schedule = LearningRateSchedule.plateau(patience: 1, factor: 0.5)
      var straight = try trainer(epochs: 40, schedule: schedule, patience: 4, saveBest: true)
      try straight.fit(
        data, checkpointPath: folder + "/straight.bin", bestModelPath: folder + "/straight-best.bin"
      )
      let best = try XCTUnwrap(straight.bestEpoch)
      XCTAssertTrue(straight.stoppedEarly)
      XCTAssertGreaterThan(straight.epochsCompleted, best + 1)
      XCTAssertLessThan(
        straight.learningRate(epoch: straight.epochsCompleted), 0.05, "the plateau reduced the rate"
      )

      for stop in [best, best + 1] {
        let path = folder + "/resumed-\(stop).bin"
        let bestPath = folder + "/resumed-\(stop)-best.bin"
        var first = try trainer(epochs: stop, schedule: schedule, patience: 4, saveBest: true)
        try first.fit(data, checkpointPath: path, bestModelPath: bestPath)
        if stop > best {
          XCTAssertEqual(try ModelFile.read(from: path).metadata.keptWeights?.role, .last)
        }
        var resumed = try Trainer.resume(from: path)
        resumed.configuration.epochs = 40
        try resumed.fit(data, checkpointPath: path, bestModelPath: bestPath)
        XCTAssertEqual(
          try ModelFile.read(from: path).encoded(),
          try ModelFile.read(from: folder + "/straight.bin").encoded(), "interrupted at \(stop)")
        XCTAssertEqual(
          try ModelFile.read(from: bestPath).encoded(),
          try ModelFile.read(from: folder + "/straight-best.bin").encoded())
      }
    }
  }

  func testACheckpointMissingItsBestWeightsIsRefused() throws {
    var trained = try trainer(epochs: 40, patience: 3)
    try trained.fit(Self.overfitting())
    var file = trained.modelFile(checkpoint: true)
    XCTAssertNotNil(file.metadata.keptWeights)
    file.metadata.keptWeights = nil
    XCTAssertThrowsError(try Trainer(resuming: file, path: "m.bin")) { error in
      XCTAssertEqual(
        error as? TrainerError,
        .checkpointMismatch(
          path: "m.bin", reason: "early stopping without the best epoch's weights"))
    }
  }
}
