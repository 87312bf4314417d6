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
