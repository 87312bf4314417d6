import Foundation
import Tensors
import XCTest

@testable import convviz

/// `CONVVIZ_DNNL` and `DNNL_MAX_CPU_ISA` on `predict`: the oneDNN path, the
/// hand-written kernels and oneDNN capped at AVX2 give the same scores for
/// imported networks (depthwise, grouped, strided and 1×1 convolutions).
final class OneDNNCommandTests: XCTestCase {
  private static let fixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("ModelFormatsTests/Fixtures/torch")

  private func scores(_ json: String) throws -> [Float] {
    let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    let images = try XCTUnwrap(parsed?["images"] as? [[String: Any]], json)
    return try images.flatMap { image in
      try XCTUnwrap(image["scores"] as? [Double], "\(image)").map(Float.init)
    }
  }

  func testPathsAgreeOnImportedNetworks() throws {
    let folder = try TrainingScratchFolder()
    var generator = SeededGenerator(seed: 5)
    let values = (0..<(3 * 3 * 32 * 32)).map { _ in generator.nextUnitFloat() }
    let input = try folder.write(
      NumPyFile.encode(shape: [3, 3, 32, 32], values: values), to: "x.npy")
    for network in ["resnet-blocks", "mobile-blocks", "shuffle-unit", "squeezenet-fire"] {
      let model = Self.fixtures.appendingPathComponent("\(network)/model.onnx").path
      func run(_ environment: [String: String]) throws -> (scores: [Float], kernels: String) {
        let result = try ConvvizBinary.run(
          ["predict", model, input, "--format", "json", "--timings", "--threads", "2"],
          environment: environment)
        XCTAssertEqual(result.status, 0, "\(network): \(result.standardError)")
        let kernels =
          result.standardError.split(separator: "\n")
          .first { $0.hasPrefix("timing kernels ") } ?? ""
        return (try scores(result.standardOutput), String(kernels))
      }
      let reference = try run(["CONVVIZ_DNNL": "0"])
      XCTAssertTrue(reference.kernels.contains("oneDNN off"), reference.kernels)
      XCTAssertFalse(reference.scores.isEmpty, network)
      XCTAssertEqual(reference.scores.count % 3, 0, network)
      let scale = max(1, reference.scores.map(abs).max() ?? 0)
      for environment in [[:], ["DNNL_MAX_CPU_ISA": "AVX2"]] {
        let fast = try run(environment)
        XCTAssertEqual(fast.scores.count, reference.scores.count, network)
        let worst = zip(fast.scores, reference.scores).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5 * scale, "\(network) \(environment): \(fast.kernels)")
      }
    }
  }

  /// `predict --timings` profiles the steps: one `timing op` line per kind
  /// of step and kernel, shares adding up to 100%, times within the
  /// forward pass's; residual sums with their ReLU on the oneDNN path, and
  /// no oneDNN kernel named with `CONVVIZ_DNNL=0`. Without --timings,
  /// nothing.
  func testTimingsProfileTheSteps() throws {
    let folder = try TrainingScratchFolder()
    var generator = SeededGenerator(seed: 7)
    let values = (0..<(2 * 3 * 32 * 32)).map { _ in generator.nextUnitFloat() }
    let input = try folder.write(
      NumPyFile.encode(shape: [2, 3, 32, 32], values: values), to: "x.npy")
    let model = Self.fixtures.appendingPathComponent("resnet-blocks/model.onnx").path
    let pattern = try NSRegularExpression(
      pattern: #"^timing op (\S+) ([0-9.]+) ms \(([0-9.]+)%, ([0-9.]+) steps, (.+)\)$"#)
    for environment in [[:], ["CONVVIZ_DNNL": "0"]] {
      let result = try ConvvizBinary.run(
        ["predict", model, input, "--timings", "--threads", "2"], environment: environment)
      XCTAssertEqual(result.status, 0, result.standardError)
      let lines = result.standardError.split(separator: "\n").map(String.init)
      let forward = lines.compactMap { line -> Double? in
        guard line.hasPrefix("timing forward ") else { return nil }
        return Double(line.split(separator: " ")[2])
      }
      XCTAssertEqual(forward.count, 1, result.standardError)
      var (total, share) = (0.0, 0.0)
      var kinds: [String: String] = [:]
      for line in lines where line.hasPrefix("timing op ") {
        let range = NSRange(line.startIndex..., in: line)
        let match = try XCTUnwrap(pattern.firstMatch(in: line, range: range), line)
        func group(_ i: Int) -> String { String(line[Range(match.range(at: i), in: line)!]) }
        total += try XCTUnwrap(Double(group(2)), line)
        share += try XCTUnwrap(Double(group(3)), line)
        kinds[group(1)] = group(5)
      }
      XCTAssertGreaterThanOrEqual(kinds.count, 3, result.standardError)
      XCTAssertEqual(share, 100, accuracy: 0.1 * Double(kinds.count), result.standardError)
      XCTAssertLessThanOrEqual(
        total, (forward.first ?? 0) + 0.001 * Double(kinds.count), result.standardError)
      XCTAssertTrue(kinds.keys.contains { $0.hasPrefix("Conv2D") }, "\(kinds)")
      if environment.isEmpty {
        XCTAssertTrue(kinds.values.contains { $0.hasPrefix("oneDNN ") }, "\(kinds)")
        XCTAssertNotNil(kinds["Add+Activation(relu)"], "the ReLU folds into the sum: \(kinds)")
      } else {
        XCTAssertFalse(kinds.values.contains { $0.contains("oneDNN") }, "\(kinds)")
      }
    }
    let quiet = try ConvvizBinary.run(["predict", model, input, "--threads", "2"])
    XCTAssertEqual(quiet.status, 0, quiet.standardError)
    XCTAssertFalse(quiet.standardError.contains("timing"), quiet.standardError)
  }

  /// oneDNN's OpenMP threads spin briefly between regions when other
  /// runnable threads leave more than half the cores free, and sleep
  /// otherwise, unless the user chose.
  func testOpenMPWaitPolicyFollowsTheLoad() {
    let spin = [
      ProcessSettings.EnvironmentSetting(name: "OMP_WAIT_POLICY", value: "active"),
      ProcessSettings.EnvironmentSetting(name: "GOMP_SPINCOUNT", value: "10000"),
    ]
    let sleep = [ProcessSettings.EnvironmentSetting(name: "OMP_WAIT_POLICY", value: "passive")]
    XCTAssertEqual(ProcessSettings.openMPWaitSettings(otherRunnableThreads: 0, cores: 2), spin)
    XCTAssertEqual(ProcessSettings.openMPWaitSettings(otherRunnableThreads: 1, cores: 2), sleep)
    XCTAssertEqual(ProcessSettings.openMPWaitSettings(otherRunnableThreads: 5, cores: 2), sleep)
    XCTAssertEqual(ProcessSettings.openMPWaitSettings(otherRunnableThreads: 3, cores: 8), spin)
    XCTAssertEqual(ProcessSettings.openMPWaitSettings(otherRunnableThreads: 4, cores: 8), sleep)
    XCTAssertEqual(ProcessSettings.openMPWaitSettings(otherRunnableThreads: nil, cores: 2), sleep)
    XCTAssertEqual(ProcessSettings.otherRunnableThreads(loadavg: "0.98 1.18 1.77 1/86 22803\n"), 0)
    XCTAssertEqual(ProcessSettings.otherRunnableThreads(loadavg: "0.98 1.18 1.77 3/88 22849"), 2)
    XCTAssertNil(ProcessSettings.otherRunnableThreads(loadavg: "0.98 1.18"))
    XCTAssertNil(ProcessSettings.otherRunnableThreads(loadavg: "0.98 1.18 1.77 x/88 1"))
    XCTAssertNil(ProcessSettings.otherRunnableThreads(loadavg: nil))
  }

  func testVariableParsingAndBadValue() throws {
    XCTAssertNil(try ProcessSettings.oneDNNSwitch(fromEnvironment: nil))
    XCTAssertNil(try ProcessSettings.oneDNNSwitch(fromEnvironment: ""))
    XCTAssertEqual(try ProcessSettings.oneDNNSwitch(fromEnvironment: "0"), false)
    XCTAssertEqual(try ProcessSettings.oneDNNSwitch(fromEnvironment: "1"), true)
    let result = try ConvvizBinary.run(["kernels"], environment: ["CONVVIZ_DNNL": "no"])
    XCTAssertEqual(result.status, 64)
    XCTAssertTrue(
      result.standardError.hasPrefix("convviz: error: CONVVIZ_DNNL must be 0 or 1, got 'no'"),
      result.standardError)
    let winograd = try ConvvizBinary.run(["kernels"], environment: ["CONVVIZ_WINOGRAD": "2"])
    XCTAssertEqual(winograd.status, 64)
    XCTAssertTrue(
      winograd.standardError.hasPrefix(
        "convviz: error: CONVVIZ_WINOGRAD must be 0 or 1, got '2'"),
      winograd.standardError)
  }
}
