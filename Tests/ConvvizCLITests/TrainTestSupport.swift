import Foundation
import XCTest

/// Runs the built `convviz` binary for the train/evaluate/predict/summary
/// tests and captures its output.
enum TrainingCLI {
  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// Runs the binary through the shared `ConvvizBinary` runner.
  static func run(_ arguments: [String]) throws -> Result {
    let result = try ConvvizBinary.run(arguments)
    return Result(
      status: result.status, stdout: result.standardOutput, stderr: result.standardError)
  }
}

/// A fresh temporary folder, removed on deinit.
final class TrainingScratchFolder {
  let path: String

  init() throws {
    path = NSTemporaryDirectory() + "convviz-cli-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  @discardableResult
  func write(_ bytes: [UInt8], to name: String) throws -> String {
    let file = path + "/" + name
    try FileManager.default.createDirectory(
      atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    return file
  }
}
