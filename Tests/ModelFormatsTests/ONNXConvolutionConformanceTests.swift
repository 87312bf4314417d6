import Engine
import Foundation
import Tensors
import XCTest

@testable import ModelFormats

/// ONNX's own node tests (Debian's libonnx-testdata) for the convolution
/// family: every conv*, maxpool*, averagepool*, batchnorm*,
/// globalaveragepool* and globalmaxpool* test is run through the importer
/// and the engine and compared with its output file, or skipped for a
/// stated reason. Inputs after the first (weights, statistics) are given
/// as initializers, as an exported model holds them.
final class ONNXConvolutionConformanceTests: XCTestCase {
  static let families = [
    "test_conv", "test_basic_conv", "test_maxpool", "test_averagepool", "test_batchnorm",
    "test_globalaveragepool", "test_globalmaxpool",
  ]

  /// As `ONNXImportTests`' node tests: |a − b| / max(1, |b|).
  static let tolerance: Float = 1e-4

  /// Why a test of the families is out of the engine's scope, or nil.
  static func skipReason(_ name: String) -> String? {
    if name.contains("convtranspose") { return "ConvTranspose is not an engine operation" }
    if name.contains("convinteger") { return "ConvInteger (quantised) is not an engine operation" }
    if name.contains("_1d_") || name.contains("_3d_") {
      return "1-D and 3-D windows: the engine's images are 2-D"
    }
    if name.contains("training_mode") { return "training-mode statistics: inference only" }
    if name.contains("uint8") { return "uint8 tensors: the engine computes in float32" }
    if name.contains("with_argmax") { return "the Indices output is not produced" }
    return nil
  }

  private func tensor(_ path: String) throws -> ONNXTensor {
    try ONNXTensor.decode(serialized: [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
  }

  /// Ops whose only version is opset 1's: a model of theirs written at
  /// opset 1 means exactly what it would at opset 7, the oldest convviz
  /// reads, so the test relabels it rather than skipping it.
  static let unchangedSinceOpset1: Set<String> = ["GlobalAveragePool", "GlobalMaxPool"]

  private func readModel(_ path: String) throws -> ONNXModel {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    var proto = try Onnx_ModelProto(serializedBytes: bytes)
    let opset = proto.opsetImport.first { $0.domain.isEmpty }?.version ?? 1
    if opset < ONNXModel.supportedOpsets.lowerBound,
      proto.graph.node.allSatisfy({ Self.unchangedSinceOpset1.contains($0.opType) })
    {
      var entry = Onnx_OperatorSetIdProto()
      entry.version = Int64(ONNXModel.supportedOpsets.lowerBound)
      proto.opsetImport = [entry]
      return try ONNXModel.decode(try proto.serializedBytes(), path: path)
    }
    return try ONNXModel.decode(bytes, path: path)
  }

  /// Runs one test folder; throws what went wrong.
  private func run(_ folder: String) throws {
    var model = try readModel(folder + "/model.onnx")
    let sets = try NodeTests.dataSets(folder)
    XCTAssertFalse(sets.isEmpty, folder)
    for set in sets {
      let base = "\(folder)/\(set)/"
      var graph = model.graph
      for (i, info) in model.graph.inputs.enumerated().dropFirst() {
        var constant = try tensor(base + "input_\(i).pb")
        constant.name = info.name
        graph.initializers.append(constant)
      }
      model.graph = graph
      var network = try model.makeNetwork(path: folder)
      let input = try XCTUnwrap(try tensor(base + "input_0.pb").floatTensor)
      let expected = try XCTUnwrap(try tensor(base + "output_0.pb").floatTensor)
      let output = try network.forward(input, mode: .inference)
      XCTAssertEqual(output.shape, expected.shape, folder)
      guard output.shape == expected.shape else { return }
      XCTAssertLessThanOrEqual(
        NodeTests.worstRelativeDifference(output, expected), Self.tolerance, "\(folder)/\(set)")
    }
  }

  func testConvolutionFamilyNodeTests() throws {
    let names = try NodeTests.names()
    var attempted: [String] = []
    var failed: [String] = []
    var skipped: [String] = []
    for name in names where Self.families.contains(where: { name.hasPrefix($0) }) {
      if let reason = Self.skipReason(name) {
        skipped.append("\(name) (\(reason))")
        continue
      }
      attempted.append(name)
      let failuresBefore = testRun?.failureCount ?? 0
      do {
        try run(NodeTests.root + "/" + name)
      } catch {
        XCTFail("\(name): \(error)")
      }
      if (testRun?.failureCount ?? 0) > failuresBefore { failed.append(name) }
    }
    print(
      "libonnx-testdata convolution-family node tests: \(attempted.count - failed.count) passed "
        + "of \(attempted.count) attempted; \(skipped.count) skipped:")
    for line in skipped { print("  skipped \(line)") }
    XCTAssertGreaterThanOrEqual(attempted.count, 33)
  }
}
