import Engine
import Foundation
import Tensors
import XCTest

/// Forward outputs equal Keras's for the same weights (Fixtures/keras_fixtures.json,
/// made by Fixtures/make_keras_fixtures.py).
final class KerasParityTests: XCTestCase {
  struct Fixture: Decodable {
    var input_shape: [Int]
    var input: [Float]
    var kernel_shape: [Int]?
    var kernel: [Float]?
    var bias: [Float]?
    var strides: [Int]?
    var padding: String?
    var pool_size: [Int]?
    var reduction: String?
    var output_shape: [Int]
    var output: [Float]

    var inputTensor: Tensor { Tensor(shape: Shape(input_shape), storage: input) }
    var expected: Tensor { Tensor(shape: Shape(output_shape), storage: output) }
    var kernelTensor: Tensor { Tensor(shape: Shape(kernel_shape ?? []), storage: kernel ?? []) }
    var biasTensor: Tensor { Tensor(shape: Shape((bias ?? []).count), storage: bias ?? []) }
    var stridePair: (Int, Int) { (strides?[0] ?? 1, strides?[1] ?? 1) }
    var paddingValue: Padding { padding == "same" ? .same : .valid }
  }

  static let fixtures: [String: Fixture] = {
    guard
      let url = Bundle.module.url(
        forResource: "keras_fixtures", withExtension: "json", subdirectory: "Fixtures"),
      let data = try? Data(contentsOf: url),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return [:] }
    var result: [String: Fixture] = [:]
    for (name, value) in object where !name.hasPrefix("_") {
      guard let json = try? JSONSerialization.data(withJSONObject: value),
        let fixture = try? JSONDecoder().decode(Fixture.self, from: json)
      else { continue }
      result[name] = fixture
    }
    return result
  }()

  private func fixture(_ name: String) throws -> Fixture {
    try XCTUnwrap(Self.fixtures[name], "fixture \(name) missing from keras_fixtures.json")
  }

  private func assertClose(_ actual: Tensor, _ expected: Tensor, _ name: String, line: UInt = #line)
  {
    XCTAssertEqual(actual.shape, expected.shape, name, line: line)
    guard actual.shape == expected.shape else { return }
    for i in 0..<actual.count {
      let tolerance = 1e-5 * max(1, abs(expected.storage[i]))
      if abs(actual.storage[i] - expected.storage[i]) > tolerance {
        XCTFail("\(name)[\(i)]: \(actual.storage[i]) vs Keras \(expected.storage[i])", line: line)
        return
      }
    }
  }

  func testFixturesLoaded() {
    XCTAssertEqual(Self.fixtures.count, 13)
  }

  func testConv2DMatchesKeras() throws {
    for name in [
      "conv_valid_s1", "conv_same_s1", "conv_valid_s2", "conv_same_s2", "conv_same_s2_even",
    ] {
      let f = try fixture(name)
      var layer = Conv2D(
        kernel: f.kernelTensor, bias: f.biasTensor, strides: f.stridePair, padding: f.paddingValue)
      assertClose(try layer.forward(f.inputTensor, mode: .inference), f.expected, name)
      let reference = conv2dForwardReference(
        input: f.inputTensor, kernel: f.kernelTensor, bias: f.biasTensor, strides: f.stridePair,
        padding: f.paddingValue)
      assertClose(reference, f.expected, name + " (reference)")
    }
  }

  func testDenseMatchesKeras() throws {
    let f = try fixture("dense")
    var layer = Dense(kernel: f.kernelTensor, bias: f.biasTensor)
    assertClose(try layer.forward(f.inputTensor, mode: .inference), f.expected, "dense")
  }

  func testFlattenThenDenseMatchesKeras() throws {
    let f = try fixture("flatten_dense")
    let sample = Shape(Array(f.input_shape.dropFirst()))
    var model = Sequential(
      inputShape: sample, layers: [Flatten(), Dense(kernel: f.kernelTensor, bias: f.biasTensor)])
    assertClose(try model.predict(f.inputTensor), f.expected, "flatten_dense")
  }

  func testPoolingMatchesKeras() throws {
    for name in [
      "maxpool_2", "avgpool_2", "maxpool_3s2_overlap", "avgpool_3s2_overlap", "maxpool_3s2_same",
      "avgpool_3s2_same",
    ] {
      let f = try fixture(name)
      let pool = try XCTUnwrap(f.pool_size)
      var layer = Pooling2D(
        f.reduction == "max" ? .max : .average, poolSize: (pool[0], pool[1]), strides: f.stridePair,
        padding: f.paddingValue)
      assertClose(try layer.forward(f.inputTensor, mode: .inference), f.expected, name)
    }
  }
}
