import Engine
import ModelFormats
import Training
import XCTest

@testable import convviz

final class TrainCommandTests: XCTestCase {
  func testSeedCommandLineParses() throws {
    let train = try Train.parse([
      "--model", "mnist-cnn", "--data", "DIR", "--epochs", "8", "--batch-size", "100",
      "--validation-split", "0.1", "--optimizer", "adadelta", "--seed", "0",
      "-o", "output/model.bin",
    ])
    XCTAssertEqual(train.model, "mnist-cnn")
    XCTAssertEqual(train.data.folder, "DIR")
    XCTAssertEqual(train.epochs, 8)
    XCTAssertEqual(train.batchSize, 100)
    XCTAssertEqual(train.validationSplit, 0.1)
    XCTAssertEqual(train.optimizer, .adadelta)
    XCTAssertEqual(train.output, "output/model.bin")
    XCTAssertEqual(
      train.optimizerConfiguration, .adadelta(learningRate: 1.0, rho: 0.95, epsilon: 1e-7))
    XCTAssertEqual(train.historyPath, "output/model.csv")
  }

  func testDefaultsFollowTheSeed() throws {
    let train = try Train.parse(["--model", "mnist-cnn", "--data", "d"])
    XCTAssertEqual([train.epochs, train.batchSize], [8, 100])
    XCTAssertEqual(train.validationSplit, 0.1)
    XCTAssertEqual(train.optimizer, .adadelta)
    XCTAssertEqual(train.output, "output/model.bin")
    XCTAssertFalse(train.resume)
  }

  func testOptimizerOptionsOverrideKerasDefaults() throws {
    let sgd = try Train.parse([
      "--model", "mnist-cnn", "--data", "d", "--optimizer", "sgd", "--learning-rate", "0.1",
      "--momentum", "0.9", "--nesterov",
    ])
    XCTAssertEqual(
      sgd.optimizerConfiguration, .sgd(learningRate: 0.1, momentum: 0.9, nesterov: true))
    let adam = try Train.parse([
      "--model", "mnist-cnn", "--data", "d", "--optimizer", "adam", "--beta2", "0.99",
    ])
    XCTAssertEqual(
      adam.optimizerConfiguration,
      .adam(learningRate: 0.001, beta1: 0.9, beta2: 0.99, epsilon: 1e-7))
  }

  func testCrossFieldChecks() {
    let base = ["--data", "d"]
    for bad in [
      base,  // no --model and no --resume
      base + ["--model", "mnist-cnn", "--epochs", "0"],
      base + ["--model", "mnist-cnn", "--batch-size", "0"],
      base + ["--model", "mnist-cnn", "--validation-split", "1"],
      base + ["--model", "mnist-cnn", "--validation-split", "-0.1"],
      base + ["--model", "mnist-cnn", "--learning-rate", "0"],
      base + ["--model", "mnist-cnn", "--momentum", "0.9"],  // adadelta has no momentum
      base + ["--model", "mnist-cnn", "--optimizer", "adam", "--rho", "0.9"],
      base + ["--model", "mnist-cnn", "--optimizer", "sgd", "--nesterov", "--momentum", "1.5"],
      base + ["--model", "mnist-cnn", "--limit", "0"],
      base + ["--model", "mnist-cnn", "--optimizer", "nadam"],
    ] {
      XCTAssertThrowsError(try Train.parse(bad), "\(bad)")
    }
    XCTAssertNoThrow(try Train.parse(base + ["--resume"]))
    XCTAssertThrowsError(try Train.parse(base + ["--model", "no-such-preset"])) { error in
      XCTAssertTrue(Train.message(for: error).contains("mnist-cnn"), "lists the presets")
    }
  }

  func testHistoryPathDefaultsNextToTheModel() throws {
    XCTAssertEqual(
      try Train.parse(["--model", "mnist-cnn", "--data", "d", "-o", "a.b/model"]).historyPath,
      "a.b/model.csv")
    XCTAssertEqual(
      try Train.parse(["--model", "mnist-cnn", "--data", "d", "-o", "x.bin"]).historyPath,
      "x.csv")
    XCTAssertEqual(
      try Train.parse(["--model", "mnist-cnn", "--data", "d", "--history", "h.csv"]).historyPath,
      "h.csv")
  }
}
