import Foundation
import Tensors
import XCTest

@testable import ModelFormats

/// ONNX's own node tests (Debian's libonnx-testdata, installed by
/// scripts/setup.sh): each folder holds a one-node model.onnx and
/// test_data_set_*/input_*.pb and output_*.pb tensors. The reader must
/// parse every model (or refuse it for a listed reason) and every tensor
/// of a type it reads.
final class ONNXTestDataTests: XCTestCase {
  private func testFolders() throws -> [String] {
    try NodeTests.names().map { NodeTests.root + "/" + $0 }
  }

  /// Every model parses, except those older than opset 7 (which convviz
  /// does not read) and those with initializers of types it does not read.
  func testEveryNodeTestModelParses() throws {
    var parsed = 0
    var refused: [String: ONNXProblem] = [:]
    for folder in try testFolders() {
      let path = folder + "/model.onnx"
      guard FileManager.default.fileExists(atPath: path) else { continue }
      do {
        let model = try ONNXModel.read(from: path)
        XCTAssertFalse(model.graph.nodes.isEmpty, path)
        XCTAssertFalse(model.graph.outputs.isEmpty, path)
        parsed += 1
      } catch {
        guard case .onnx(_, let problem) = error else {
          XCTFail("\(path): \(error)")
          continue
        }
        refused[path] = problem
      }
    }
    var old = 0
    for (path, problem) in refused {
      switch problem {
      case .unsupportedOpset(let found, _) where found < ONNXModel.supportedOpsets.lowerBound:
        old += 1
      case .unsupportedDataType: break
      default: XCTFail("\(path): \(problem)")
      }
    }
    print(
      "libonnx-testdata node models: \(parsed) parsed, \(old) refused as older than opset 7, "
        + "\(refused.count - old) for element types")
    XCTAssertGreaterThan(parsed, 850)
  }

  /// Every input and output tensor file whose declared element type
  /// convviz reads decodes, with the declared dimensions.
  func testEveryTensorOfAReadableTypeDecodes() throws {
    var decoded = 0
    for folder in try testFolders() {
      guard let model = try? ONNXModel.read(from: folder + "/model.onnx") else { continue }
      let sets = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
      for set in sets where set.hasPrefix("test_data_set") {
        let declared =
          model.graph.dataInputs.enumerated().map { ("input_\($0.offset).pb", $0.element) }
          + model.graph.outputs.enumerated().map { ("output_\($0.offset).pb", $0.element) }
        for (file, info) in declared {
          guard [.float, .float16, .double, .int32, .int64].contains(info.elementType) else {
            continue
          }
          let path = "\(folder)/\(set)/\(file)"
          guard let data = FileManager.default.contents(atPath: path) else { continue }
          do {
            let tensor = try ONNXTensor.decode(serialized: [UInt8](data))
            // CastLike's second input only lends its type; ONNX 1.12's
            // data files hold a one-element tensor where the model says 3×4.
            if let dims = info.dims, !folder.contains("castlike"),
              !dims.contains(where: { $0 == .unknown }),
              !dims.contains(where: { if case .named = $0 { return true } else { return false } })
            {
              XCTAssertEqual(tensor.dims.map { ONNXValueInfo.Dimension.fixed($0) }, dims, path)
            }
            decoded += 1
          } catch {
            XCTFail("\(path): \(error)")
          }
        }
      }
    }
    print("libonnx-testdata tensors of float and integer types: \(decoded) decoded")
    XCTAssertGreaterThan(decoded, 1500)
  }

  /// The values, not only the framing: Relu's output file must be
  /// max(input, 0) of its input file, element for element.
  func testReluTestTensorsHoldTheirValues() throws {
    _ = try testFolders()
    let folder = NodeTests.root + "/test_relu/test_data_set_0/"
    func tensor(_ name: String) throws -> Tensor {
      let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + name)))
      return try XCTUnwrap(try ONNXTensor.decode(serialized: bytes).floatTensor)
    }
    let input = try tensor("input_0.pb")
    let output = try tensor("output_0.pb")
    XCTAssertEqual(input.shape, Shape(3, 4, 5))
    XCTAssertEqual(output.storage, input.storage.map { max($0, 0) })
    XCTAssertTrue(input.storage.contains { $0 < 0 })
  }
}
