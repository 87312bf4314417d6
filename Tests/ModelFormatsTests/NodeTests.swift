import Foundation
import Tensors
import XCTest

@testable import ModelFormats

/// ONNX's own node tests (Debian's libonnx-testdata, installed by
/// scripts/setup.sh): each folder holds a one-node model.onnx and
/// test_data_set_*/input_*.pb and output_*.pb tensors. What the
/// conformance suites share: finding the tests, reading their tensors,
/// comparing outputs and reporting the tally.
enum NodeTests {
  static let root = "/usr/share/libonnx-testdata/data/node"

  /// The tests' folder names, sorted; skips the calling test when the
  /// package is not installed.
  static func names() throws -> [String] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else {
      throw XCTSkip("\(root) is missing: install Debian's libonnx-testdata (scripts/setup.sh)")
    }
    return names.sorted()
  }

  /// Whether the test `name` (`test_OP…`) is of one of `ops`: its op is
  /// one of them exactly or followed by `_`.
  static func isTest(_ name: String, ofOneOf ops: [String]) -> Bool {
    let op = name.dropFirst("test_".count)
    return ops.contains { op.hasPrefix($0 + "_") || op == $0 }
  }

  /// The data sets of the test in `folder`, sorted.
  static func dataSets(_ folder: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder)
      .filter { $0.hasPrefix("test_data_set") }.sorted()
  }

  /// The tensor in `file` of a test's data set, or nil when there is no
  /// such file.
  static func tensor(
    _ folder: String, _ file: String, set: String = "test_data_set_0"
  ) throws
    -> ONNXTensor?
  {
    guard let data = FileManager.default.contents(atPath: "\(folder)/\(set)/\(file)") else {
      return nil
    }
    return try ONNXTensor.decode(serialized: [UInt8](data))
  }

  /// The largest |a − b| / max(1, |b|) of `output` against `expected`.
  static func worstRelativeDifference(_ output: Tensor, _ expected: Tensor) -> Float {
    zip(output.storage, expected.storage).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
  }

  /// Prints "TITLE: P passed of A attempted" with each refusal's reason and
  /// the passed names, then asserts that every test in `required` passed.
  static func report(
    _ title: String, passed: [String], refused: [String: String], required: [String],
    file: StaticString = #filePath, line: UInt = #line
  ) {
    print(
      "libonnx-testdata node tests of \(title): \(passed.count) passed of "
        + "\(passed.count + refused.count) attempted; refused:")
    for (name, reason) in refused.sorted(by: { $0.key < $1.key }) { print("  \(name): \(reason)") }
    print("passed: " + passed.joined(separator: " "))
    for name in required {
      XCTAssertTrue(
        passed.contains(name), "\(name): \(refused[name] ?? "not attempted")", file: file,
        line: line)
    }
  }
}
