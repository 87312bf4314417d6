import Datasets
import Foundation
import Tensors
import XCTest
import _Runtime

@testable import Engine
@testable import ModelFormats
@testable import Training

final class TrainerTests: XCTestCase {
  private func trainer(
    seed: UInt64 = 1, epochs: Int, optimizer: OptimizerConfiguration? = nil
  )
    throws -> Trainer
  {
    try Trainer(
      spec: Stripes.network,
      optimizer: optimizer ?? Stripes.adam,
      configuration: TrainingConfiguration(
        epochs: epochs, batchSize: 16, validationSplit: 0.2, seed: seed),
      dataset: "stripes", classNames: ["left", "right", "top"])
  }

  /// Runs `body` with a fresh folder, removed afterwards.
  private func withTemporaryFolder(_ body: (URL) throws -> Void) throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "trainer-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try body(folder)
  }

  func testLearnsASeparableTaskAndLossFalls() throws {
    var trainer = try trainer(epochs: 8)
    let history = try trainer.fit(Stripes.data(count: 300, seed: 5))
    XCTAssertEqual(history.map(\.epoch), Array(1...8))
    XCTAssertLessThan(history.last!.loss, history.first!.loss * 0.5)
    XCTAssertGreaterThan(history.last!.validationAccuracy!, 0.95)
    let test = try trainer.evaluate(Stripes.data(count: 150, seed: 99))
    XCTAssertGreaterThan(test.accuracy, 0.95)
    XCTAssertEqual(test.count, 150)
  }

  func testSameSeedGivesBitIdenticalModelFile() throws {
    let data = Stripes.data(count: 120, seed: 6)
    var first = try trainer(seed: 7, epochs: 2)
    var second = try trainer(seed: 7, epochs: 2)
    try first.fit(data)
    try second.fit(data)
    XCTAssertEqual(first.modelFile().encoded(), second.modelFile().encoded())
    XCTAssertEqual(
      first.modelFile(checkpoint: true).encoded(), second.modelFile(checkpoint: true).encoded())
    var other = try trainer(seed: 8, epochs: 2)
    try other.fit(data)
    XCTAssertNotEqual(first.modelFile().encoded(), other.modelFile().encoded())
  }

  /// Two epochs straight equal one epoch, a checkpoint, and a resumed epoch,
  /// bit for bit, for a stateful optimizer and a model with dropout.
  func testResumeFromCheckpointMatchesUninterruptedRun() throws {
    try withTemporaryFolder { folder in
      let data = Stripes.data(count: 120, seed: 8)
      for optimizer in [
        OptimizerConfiguration.defaults(for: .adadelta),
        .sgd(learningRate: 0.05, momentum: 0.9, nesterov: true),
      ] {
        var straight = try trainer(seed: 3, epochs: 2, optimizer: optimizer)
        try straight.fit(data)

        let path = folder.appendingPathComponent("checkpoint.bin").path
        var interrupted = try trainer(seed: 3, epochs: 1, optimizer: optimizer)
        try interrupted.fit(data, checkpointPath: path)
        var resumed = try Trainer.resume(from: path)
        XCTAssertEqual(resumed.epochsCompleted, 1)
        XCTAssertEqual(resumed.configuration.batchSize, 16)
        resumed.configuration.epochs = 2
        let records = try resumed.fit(data, checkpointPath: path)
        XCTAssertEqual(records.map(\.epoch), [2])
        XCTAssertEqual(
          resumed.modelFile().encoded(), straight.modelFile().encoded(), "\(optimizer)")
        XCTAssertEqual(
          try ModelFile.read(from: path).encoded(), straight.modelFile(checkpoint: true).encoded())
      }
    }
  }

  /// A kernel out of memory mid-run: a typed error (it was a crash), and the
  /// last epoch's checkpoint is left as it was.
  func testOutOfMemoryStopsWithATypedErrorAndKeepsTheCheckpoint() throws {
    try withTemporaryFolder { folder in
      let data = Stripes.data(count: 60, seed: 9)
      let path = folder.appendingPathComponent("checkpoint.bin").path
      var first = try trainer(seed: 2, epochs: 1)
      try first.fit(data, checkpointPath: path)
      let saved = try Data(contentsOf: URL(fileURLWithPath: path))
      var resumed = try Trainer.resume(from: path)
      resumed.configuration.epochs = 2
      cvz_set_allocation_limit(1)
      defer { cvz_set_allocation_limit(0) }
      XCTAssertThrowsError(try resumed.fit(data, checkpointPath: path)) { error in
        guard case .engine(.outOfMemory) = error as? TrainerError else {
          return XCTFail("expected an engine out-of-memory error, got \(error)")
        }
        XCTAssertTrue("\(error)".hasPrefix("out of memory in Conv2D"), "\(error)")
      }
      XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), saved)
    }
  }

  func testCheckpointIsWrittenEveryEpochBeforeItIsReported() throws {
    try withTemporaryFolder { folder in
      let path = folder.appendingPathComponent("ckpt.bin").path
      var trainer = try trainer(epochs: 2)
      var events: [String] = []
      try trainer.fit(Stripes.data(count: 50, seed: 2), checkpointPath: path) { event in
        switch event {
        case .epochStarted(let epoch, let epochs, let batches, let samples):
          events.append("start \(epoch)/\(epochs) \(batches) \(samples)")
        case .batchFinished(_, let batch, let batches, let loss, let accuracy):
          XCTAssertTrue(loss.isFinite && (0...1).contains(accuracy))
          if batch == batches { events.append("last batch \(batch)") }
        case .epochFinished(let record):
          let saved = try? ModelFile.read(from: path)
          XCTAssertEqual(saved?.metadata.epochsCompleted, record.epoch)
          XCTAssertNotNil(saved?.checkpoint)
          events.append("end \(record.epoch)")
        case .featuresComputed:
          events.append("features")
        }
      }
      // 50 samples, last 20% held out: 40 training samples in batches of 16.
      XCTAssertEqual(
        events,
        ["start 1/2 3 40", "last batch 3", "end 1", "start 2/2 3 40", "last batch 3", "end 2"])
      let saved = try ModelFile.read(from: path)
      XCTAssertEqual(saved.metadata.history.map(\.loss), trainer.history.map(\.loss))
      XCTAssertEqual(saved.metadata.classNames, ["left", "right", "top"])
      XCTAssertEqual(saved.metadata.optimizer.kind, .adam)
    }
  }

  /// The epoch's validation metrics are those of the last 20% of the data,
  /// measured after the epoch's last step.
  func testValidationMetricsUseTheHeldOutTail() throws {
    let data = Stripes.data(count: 250, seed: 12)
    var trainer = try trainer(epochs: 1)
    let record = try XCTUnwrap(try trainer.fit(data).first)
    let tail = try trainer.evaluate(data.splitValidation(fraction: 0.2).validation)
    XCTAssertEqual(tail.predicted.count, 50)
    XCTAssertEqual(tail.count, 50)
    XCTAssertEqual(try XCTUnwrap(record.validationAccuracy), tail.accuracy, accuracy: 1e-12)
    XCTAssertEqual(try XCTUnwrap(record.validationLoss), tail.loss, accuracy: 1e-5)
  }

  func testHistoryCSV() {
    let records = [
      EpochRecord(
        epoch: 1, loss: 0.5, accuracy: 0.75, validationLoss: 0.25,
        validationAccuracy: 0.875, seconds: 2.5, learningRate: 0.1),
      EpochRecord(epoch: 2, loss: 0.25, accuracy: 0.875),
    ]
    XCTAssertEqual(
      EpochRecord.csv(records),
      "epoch,loss,accuracy,val_loss,val_accuracy,seconds,learning_rate\n"
        + "1,0.5,0.75,0.25,0.875,2.5,0.1\n2,0.25,0.875,,,,\n")
  }

  func testValidationSplitTakesTheLastFraction() {
    let data = Dataset(
      images: Tensor(shape: Shape(10, 1, 1, 1), storage: (0..<10).map(Float.init)),
      labels: Array(0..<10), classNames: [])
    let (training, validation) = data.splitValidation(fraction: 0.25)
    XCTAssertEqual(training.labels, Array(0..<7))
    XCTAssertEqual(validation.labels, [7, 8, 9])
    XCTAssertEqual(validation.images.storage, [7, 8, 9])
    XCTAssertEqual(data.splitValidation(fraction: 0).validation.count, 0)
    // Keras: split_at = int(60000 * (1 - 0.1)) = 54000.
    XCTAssertEqual(ValidationSplit.trainingCount(samples: 60000, fraction: 0.1), 54000)
    XCTAssertEqual(ValidationSplit.trainingCount(samples: 10, fraction: 0.3), 7)
  }

  func testRefusesDataThatDoesNotFitTheModel() throws {
    var trainer = try trainer(epochs: 1)
    var bad = Stripes.data(count: 10, seed: 1)
    bad.labels[4] = 3
    XCTAssertThrowsError(try trainer.fit(bad)) { error in
      XCTAssertEqual(error as? TrainerError, .labelOutOfRange(index: 4, label: 3, classCount: 3))
    }
    let wrongShape = Dataset(
      images: Tensor(zeros: Shape(2, 1, 5, 4)), labels: [0, 1], classNames: [])
    XCTAssertThrowsError(try trainer.fit(wrongShape)) { error in
      XCTAssertEqual(
        "\(error)",
        "images have shape (None, 5, 4, 1) but the model expects (None, 4, 4, 1); "
          + "pick a model whose input matches the data")
    }
    var imageOutput = try Trainer(
      spec: try ModelSpec.parse("input 4 4 1\nconv2d 3 3\n"), optimizer: .defaults(for: .sgd),
      configuration: TrainingConfiguration(epochs: 1))
    XCTAssertThrowsError(try imageOutput.fit(Stripes.data(count: 4, seed: 1))) { error in
      XCTAssertEqual(
        error as? TrainerError, .outputNotClasses(.image(height: 2, width: 2, channels: 3)))
    }
    XCTAssertThrowsError(try trainer.fit(Stripes.data(count: 1, seed: 1))) { error in
      XCTAssertEqual(error as? TrainerError, .noTrainingData(samples: 1, validationSplit: 0.2))
    }
  }

  func testResumeRefusesAFinalModel() throws {
    try withTemporaryFolder { folder in
      let path = folder.appendingPathComponent("final.bin").path
      try trainer(epochs: 0).modelFile().write(to: path)
      XCTAssertThrowsError(try Trainer.resume(from: path)) { error in
        XCTAssertEqual(error as? TrainerError, .notACheckpoint(path: path))
      }
      XCTAssertThrowsError(try Trainer.resume(from: path + ".missing")) { error in
        guard case .modelFile(.cannotRead)? = error as? TrainerError else {
          return XCTFail("\(error)")
        }
      }
    }
  }

  /// A fixed linear model: logits = (x₀ − x₁, x₁ − x₀), so the larger input wins.
  private func comparator() throws -> (ModelSpec, Sequential) {
    let spec = try ModelSpec.parse("input 1 1 2\nflatten\ndense 2 softmax\n")
    let model = spec.makeModel(parameters: [
      NamedTensor(
        name: "dense/kernel", tensor: Tensor(shape: Shape(2, 2), storage: [1, -1, -1, 1])),
      NamedTensor(name: "dense/bias", tensor: Tensor(zeros: Shape(2))),
    ])
    return (spec, model)
  }

  func testEvaluationConfusionMatrix() throws {
    var (spec, model) = try comparator()
    // Predictions: 0, 1, 0, 1, 1; labels: 0, 1, 1, 1, 0.
    let inputs: [Float] = [0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.3, 0.7, 0.45, 0.55]
    let data = Dataset(
      images: Tensor(shape: Shape(5, 2, 1, 1), storage: inputs), labels: [0, 1, 1, 1, 0],
      classNames: [])
    let result = try model.evaluation(on: data, spec: spec, batchSize: 2)
    XCTAssertEqual(result.confusion, [[1, 1], [1, 2]])
    XCTAssertEqual(result.predicted, [0, 1, 0, 1, 1])
    XCTAssertEqual(result.accuracy, 0.6, accuracy: 1e-12)
    // Cross-entropy worked by hand: p(label) = 1 / (1 + exp(−2·margin)).
    let margins: [Double] = [0.8, 0.6, -0.2, 0.4, -0.1]
    let expected = margins.map { log(1 + exp(-2 * $0)) }.reduce(0, +) / 5
    XCTAssertEqual(result.loss, expected, accuracy: 1e-5)
  }

  func testTopClassesAreRankedProbabilities() throws {
    var (_, model) = try comparator()
    let top = try model.topClasses(
      Tensor(shape: Shape(2, 2, 1, 1), storage: [0.9, 0.1, 0.3, 0.7]), k: 2,
      classNames: ["first", "second"])
    XCTAssertEqual(top.map { $0.map(\.classIndex) }, [[0, 1], [1, 0]])
    XCTAssertEqual(top[0][0].label, "first")
    XCTAssertEqual(Double(top[0][0].probability), 1 / (1 + exp(-1.6)), accuracy: 1e-6)
    XCTAssertEqual(top[1][0].probability + top[1][1].probability, 1, accuracy: 1e-6)
    let one = try model.topClasses(Tensor(shape: Shape(1, 2, 1, 1), storage: [0.5, 0.5]), k: 5)
    XCTAssertEqual(one[0].map(\.classIndex), [0, 1])
    XCTAssertNil(one[0][0].label)
    XCTAssertThrowsError(try model.topClasses(Tensor(zeros: Shape(1, 3, 1, 1)), k: 1))
    var images = try ModelSpec.parse("input 3 3 1\nconv2d 2 2\n").makeModel(seed: 0)
    XCTAssertThrowsError(try images.topClasses(Tensor(zeros: Shape(1, 1, 3, 3)), k: 1)) { error in
      XCTAssertEqual(
        error as? TrainerError, .outputNotClasses(.image(height: 2, width: 2, channels: 2)))
    }
  }
}
