import Foundation
import XCTest
import _Runtime

@testable import convviz

/// `--threads` and `CONVVIZ_THREADS`: the thread count is the executable's
/// choice, and it never changes a trained model's bytes.
final class ThreadCountTests: XCTestCase {
  /// Every kernel path that splits work: the single-channel and general
  /// direct convolutions, the fused convolution + max pooling, the im2col
  /// path (6 filters), dropout, row-split GEMMs (batch 100) and the
  /// optimizer's chunked update (Dense 24 → 4096: 98,304 weights).
  static let spec = """
    input 12 12 1
    conv2d 8 3 relu
    conv2d 8 3 relu
    maxpool2d 2
    conv2d 6 3 relu
    dropout 0.25
    flatten
    dense 4096 relu
    dense 2 softmax

    """

  /// 12×12 images of a horizontal (class 0) or vertical (class 1) bar with
  /// some deterministic noise, as MNIST IDX files.
  static func writeBars(to folder: TrainingScratchFolder, count: Int) throws {
    var pixels: [UInt8] = []
    var labels: [UInt8] = []
    for i in 0..<count {
      let vertical = i % 2 == 1
      let position = (i / 2) % 12
      for p in 0..<144 {
        let lit = vertical ? p % 12 == position : p / 12 == position
        pixels.append(lit ? 220 : UInt8((p * 31 + i * 7) % 50))
      }
      labels.append(vertical ? 1 : 0)
    }
    for prefix in ["train", "t10k"] {
      try folder.write(
        TrainEndToEndTests.idx(dims: [count, 12, 12], payload: pixels),
        to: "data/\(prefix)-images-idx3-ubyte")
      try folder.write(
        TrainEndToEndTests.idx(dims: [count], payload: labels),
        to: "data/\(prefix)-labels-idx1-ubyte")
    }
  }

  private func train(
    in folder: TrainingScratchFolder, name: String, threads: [String],
    environment: [String: String] = [:]
  ) throws -> Data {
    let model = folder.path + "/\(name)/model.bin"
    let result = try ConvvizBinary.run(
      [
        "train", "--model", folder.path + "/net.txt", "--data", folder.path + "/data",
        "--epochs", "2", "--batch-size", "100", "--validation-split", "0.1",
        "--optimizer", "adadelta", "--seed", "7", "-o", model,
      ] + threads, environment: environment)
    XCTAssertEqual(result.status, 0, result.standardError)
    return try Data(contentsOf: URL(fileURLWithPath: model))
  }

  func testSameSeedGivesTheSameModelBytesWithOneTwoOrThreeThreads() throws {
    let folder = try TrainingScratchFolder()
    try Self.writeBars(to: folder, count: 300)
    try folder.write(Array(Self.spec.utf8), to: "net.txt")
    let one = try train(in: folder, name: "one", threads: ["--threads", "1"])
    XCTAssertFalse(one.isEmpty)
    XCTAssertEqual(try train(in: folder, name: "two", threads: ["--threads", "2"]), one)
    XCTAssertEqual(try train(in: folder, name: "three", threads: ["--threads", "3"]), one)
    let fromVariable = try train(
      in: folder, name: "variable", threads: [], environment: ["CONVVIZ_THREADS": "3"])
    XCTAssertEqual(fromVariable, one)
  }

  func testOptionValidation() {
    XCTAssertEqual(
      try Train.parse(["--model", "mnist-cnn", "--data", "d", "--threads", "3"]).threads.threads, 3)
    XCTAssertNil(try Filter.parse(["a.png"]).threads.threads)
    XCTAssertEqual(
      try Evaluate.parse(["m.bin", "--data", "d", "--threads", "1"]).threads.threads, 1)
    XCTAssertThrowsError(
      try Train.parse(["--model", "mnist-cnn", "--data", "d", "--threads", "0"]))
    XCTAssertThrowsError(try Filter.parse(["a.png", "--threads", "-2"]))
  }

  func testEnvironmentVariableParsing() throws {
    XCTAssertNil(try ProcessSettings.threadCount(fromEnvironment: nil))
    XCTAssertNil(try ProcessSettings.threadCount(fromEnvironment: ""))
    XCTAssertEqual(try ProcessSettings.threadCount(fromEnvironment: "4"), 4)
    for bad in ["0", "-1", "two", "1.5", " 2"] {
      XCTAssertThrowsError(try ProcessSettings.threadCount(fromEnvironment: bad), bad)
    }
  }

  func testOptionWinsOverTheVariable() throws {
    defer {
      unsetenv("CONVVIZ_THREADS")
      cvz_set_threads(0)
    }
    setenv("CONVVIZ_THREADS", "3", 1)
    try ProcessSettings.apply()
    XCTAssertEqual(cvz_threads(), 3)
    try Train.parse(["--model", "mnist-cnn", "--data", "d", "--threads", "2"]).threads.apply()
    XCTAssertEqual(cvz_threads(), 2)
    // Without the option the variable's count stays.
    try ProcessSettings.apply()
    try Train.parse(["--model", "mnist-cnn", "--data", "d"]).threads.apply()
    XCTAssertEqual(cvz_threads(), 3)
  }

  func testBadVariableIsAUsageError() throws {
    let result = try ConvvizBinary.run(["kernels"], environment: ["CONVVIZ_THREADS": "many"])
    XCTAssertEqual(result.status, 64)
    XCTAssertTrue(
      result.standardError.hasPrefix(
        "convviz: error: CONVVIZ_THREADS must be a whole number of at least 1, got 'many'"),
      result.standardError)
  }
}
