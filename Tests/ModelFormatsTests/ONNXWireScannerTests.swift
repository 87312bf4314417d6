import Foundation
import Tensors
import XCTest

@testable import ModelFormats

/// The wire scanner (`ONNXModel.Parsing.scanning`) against swift-protobuf's
/// decode of the whole message (`.wholeMessage`, the reference): the same
/// model, weights bit for bit, or the same error, on every committed ONNX
/// file, on hand-built typed-field initializers, and on truncated and
/// corrupted copies.
final class ONNXWireScannerTests: XCTestCase {
  /// Every committed ONNX file: the test fixtures, the fuzz seed corpus and
  /// the fuzz regressions.
  private func committedModels() throws -> [URL] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    var found: [URL] = []
    for folder in [
      "Tests/ModelFormatsTests/Fixtures", "Fuzz/corpus/onnx", "Tests/FuzzRegressions/onnx",
    ] {
      let base = root.appendingPathComponent(folder)
      let walker = try XCTUnwrap(FileManager.default.enumerator(atPath: base.path))
      for case let path as String in walker where path.hasSuffix(".onnx") {
        found.append(base.appendingPathComponent(path))
      }
    }
    XCTAssertGreaterThanOrEqual(found.count, 26)
    return found.sorted { $0.path < $1.path }
  }

  /// Decodes `bytes` both ways; fails unless both give bit-identical
  /// models or the same error. Returns the scanned model.
  @discardableResult
  private func assertAgree(
    _ bytes: [UInt8], folder: String? = nil, _ label: String,
    file: StaticString = #filePath, line: UInt = #line
  ) -> Result<ONNXModel, ModelFileError> {
    func outcome(_ parsing: ONNXModel.Parsing) -> Result<ONNXModel, ModelFileError> {
      Result { () throws(ModelFileError) in
        try ONNXModel.decode(bytes, path: "m.onnx", externalDataFolder: folder, parsing: parsing)
      }
    }
    let scanned = outcome(.scanning)
    let reference = outcome(.wholeMessage)
    switch (scanned, reference) {
    case (.success(let a), .success(let b)):
      XCTAssertTrue(Self.identical(a, b), "\(label): models differ", file: file, line: line)
    case (.failure(let a), .failure(let b)):
      XCTAssertEqual(a, b, label, file: file, line: line)
    default:
      XCTFail("\(label): scanning \(scanned), whole message \(reference)", file: file, line: line)
    }
    return scanned
  }

  /// Equal, with float elements compared by their bits (NaN payloads too).
  private static func identical(_ a: ONNXModel, _ b: ONNXModel) -> Bool {
    guard a == b || a.encoded() == b.encoded() else { return false }
    return zip(a.graph.initializers, b.graph.initializers).allSatisfy { x, y in
      x.name == y.name && x.dims == y.dims
        && x.floatTensor?.storage.map(\.bitPattern) == y.floatTensor?.storage.map(\.bitPattern)
        && x.int64Values == y.int64Values
    } && a.graph.initializers.count == b.graph.initializers.count
  }

  func testEveryCommittedModelScansAsSwiftProtobufDecodesIt() throws {
    var scannedCount = 0
    for url in try committedModels() {
      let bytes = [UInt8](try Data(contentsOf: url))
      let folder = url.deletingLastPathComponent().path
      let name = url.lastPathComponent
      guard case .success(let model) = assertAgree(bytes, folder: folder, url.path) else {
        continue
      }
      // Read from the file (pread) too, and not through the fallback: the
      // scanner found every initializer.
      XCTAssertTrue(Self.identical(try ONNXModel.read(from: url.path), model), url.path)
      let scan = try XCTUnwrap(ONNXWireScanner.scan(ONNXMemorySource(bytes: bytes)), url.path)
      XCTAssertEqual(scan.payloads.count, model.graph.initializers.count, name)
      // The weights are not in the message swift-protobuf parses.
      let payloadBytes = scan.payloads.compactMap(\.rawData?.count).reduce(0, +)
      XCTAssertLessThanOrEqual(scan.stripped.count, bytes.count - payloadBytes, name)
      scannedCount += 1
    }
    XCTAssertGreaterThanOrEqual(scannedCount, 20)
  }

  func testTruncatedCopiesFailAsSwiftProtobufFails() throws {
    let bytes = [UInt8](
      try Data(
        contentsOf: XCTUnwrap(
          committedModels().first { $0.path.hasSuffix("all-layers/model.onnx") })))
    // Every cut in the first 512 bytes (headers, nodes), then every 7th.
    for cut in Array(0..<512) + Array(stride(from: 512, to: bytes.count, by: 7)) {
      assertAgree(Array(bytes[..<cut]), "cut at \(cut)")
    }
  }

  func testCorruptedCopiesGiveTheSameModelOrError() throws {
    var generator = SeededGenerator(seed: 10)
    for url in try committedModels() where url.path.contains("Fixtures/onnx/") {
      let bytes = [UInt8](try Data(contentsOf: url))
      guard bytes.count < 10_000 else { continue }
      for round in 0..<300 {
        var copy = bytes
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
          let at = Int.random(in: 0..<copy.count, using: &generator)
          copy[at] = UInt8.random(in: 0...255, using: &generator)
        }
        assertAgree(copy, "\(url.lastPathComponent) round \(round)")
      }
    }
  }

  // MARK: Hand-built initializers

  private static func tag(_ field: Int, _ wire: UInt8) -> [UInt8] {
    varint(UInt64(field << 3) | UInt64(wire))
  }

  private static func varint(_ value: UInt64) -> [UInt8] {
    var out: [UInt8] = []
    ONNXWireScanner.appendVarint(value, to: &out)
    return out
  }

  private static func delimited(_ field: Int, _ body: [UInt8]) -> [UInt8] {
    tag(field, 2) + varint(UInt64(body.count)) + body
  }

  private static func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
  }

  /// A TensorProto: name, dims and type, then `elements` (whole fields).
  private static func tensor(
    _ name: String, dims: [Int64], type: ONNXDataType, _ elements: [UInt8]
  ) -> [UInt8] {
    Self.delimited(8, Array(name.utf8))
      + Self.delimited(1, dims.flatMap { varint(UInt64(bitPattern: $0)) })
      + tag(2, 0) + varint(UInt64(type.rawValue)) + elements
  }

  /// A model of one Identity node reading `x`, with `initializers` (whole
  /// TensorProto messages) in its graph.
  private static func model(_ initializers: [[UInt8]]) -> [UInt8] {
    let node =
      Self.delimited(1, Array("x".utf8)) + Self.delimited(2, Array("y".utf8))
      + Self.delimited(4, Array("Identity".utf8))
    let valueInfo = { (name: String) in Self.delimited(1, Array(name.utf8)) }
    var graph = Self.delimited(1, node) + Self.delimited(2, Array("g".utf8))
    for tensor in initializers { graph += Self.delimited(5, tensor) }
    graph += Self.delimited(11, valueInfo("x")) + Self.delimited(12, valueInfo("y"))
    let opset = tag(2, 0) + varint(13)
    return tag(1, 0) + varint(8) + Self.delimited(7, graph) + Self.delimited(8, opset)
  }

  func testTypedFieldInitializersScanAsSwiftProtobufDecodesThem() throws {
    let floats: [Float] = [1.5, -0.0, .infinity, .leastNormalMagnitude / 8, 65504, .nan]
    let bits = floats.map(\.bitPattern)
    // float_data packed in two bodies around an unpacked element.
    let floatFields =
      Self.delimited(4, Self.littleEndian(Array(bits[0..<2]))) + Self.tag(4, 5)
      + Self.littleEndian([bits[2]]) + Self.delimited(4, Self.littleEndian(Array(bits[3...])))
    let halves: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001]
    // int32_data: float16 bits, one unpacked and the rest packed.
    let halfFields =
      Self.tag(5, 0) + Self.varint(UInt64(halves[0]))
      + Self.delimited(5, halves.dropFirst().flatMap { Self.varint(UInt64($0)) })
    let ints: [Int32] = [7, -1, .min]
    let int32Fields = Self.delimited(
      5, ints.flatMap { Self.varint(UInt64(bitPattern: Int64($0))) })
    let longs: [Int64] = [-1, 0, .max, 42]
    let int64Fields =
      Self.delimited(7, longs.prefix(2).flatMap { Self.varint(UInt64(bitPattern: $0)) })
      + longs.dropFirst(2).flatMap { Self.tag(7, 0) + Self.varint(UInt64(bitPattern: $0)) }
    let doubles: [Double] = [0.25, -1e300, .leastNormalMagnitude / 1024]
    let doubleFields =
      Self.tag(10, 1) + Self.littleEndian([doubles[0].bitPattern])
      + Self.delimited(10, Self.littleEndian(doubles.dropFirst().map(\.bitPattern)))
    // raw_data twice: protobuf keeps the last.
    let rawTwice =
      Self.delimited(9, Self.littleEndian([Float(9).bitPattern]))
      + Self.delimited(9, Self.littleEndian([Float(-2).bitPattern]))
    let bytes = Self.model([
      Self.tensor("f", dims: [2, 3], type: .float, floatFields),
      Self.tensor("h", dims: [4], type: .float16, halfFields),
      Self.tensor("i", dims: [3], type: .int32, int32Fields),
      Self.tensor("l", dims: [4], type: .int64, int64Fields),
      Self.tensor("d", dims: [3], type: .double, doubleFields),
      Self.tensor("r", dims: [1], type: .float, rawTwice),
    ])
    let scanned = try assertAgree(bytes, "typed fields").get()
    let scan = try XCTUnwrap(ONNXWireScanner.scan(ONNXMemorySource(bytes: bytes)))
    XCTAssertEqual(scan.payloads.map(\.floatCount), [6, 0, 0, 0, 0, 0])
    XCTAssertEqual(scan.payloads[0].floatData.count, 3)
    XCTAssertEqual(scan.payloads.map(\.int32Count), [0, 4, 3, 0, 0, 0])
    XCTAssertEqual(scan.payloads.map(\.int64Count), [0, 0, 0, 4, 0, 0])
    XCTAssertEqual(scan.payloads.map(\.doubleCount), [0, 0, 0, 0, 3, 0])
    XCTAssertNotNil(scan.payloads[5].rawData)

    func initializer(_ name: String) throws -> ONNXTensor {
      try XCTUnwrap(scanned.graph.initializer(named: name))
    }
    XCTAssertEqual(try initializer("f").floatTensor?.storage.map(\.bitPattern), bits)
    XCTAssertEqual(try initializer("f").dims, [2, 3])
    XCTAssertEqual(
      try initializer("h").floatTensor?.storage, [1, -2, 65504, 1.0 / 16_777_216])
    XCTAssertEqual(try initializer("i").int64Values, [7, -1, -2_147_483_648])
    XCTAssertEqual(try initializer("l").int64Values, longs)
    XCTAssertEqual(
      try initializer("d").floatTensor?.storage.map(\.bitPattern),
      doubles.map { Float($0).bitPattern })
    XCTAssertEqual(try initializer("r").floatTensor?.storage, [-2])
  }

  func testTypedFieldsOfTheWrongSizeAreRefusedAlike() throws {
    let three = Self.delimited(4, Self.littleEndian([Float(1), 2, 3].map(\.bitPattern)))
    let bytes = Self.model([Self.tensor("f", dims: [2, 2], type: .float, three)])
    guard case .failure(.onnx(_, let problem)) = assertAgree(bytes, "short float_data") else {
      return XCTFail("decoded")
    }
    XCTAssertEqual(problem, .sizeMismatch(tensor: "f", declared: 4, found: 3))
    // A packed body of part of an element, and a varint running past its
    // body: swift-protobuf refuses both, so the scanner leaves them to it.
    for broken in [
      Self.delimited(4, [0, 0, 0x80, 0x3F, 0]), Self.delimited(5, [0x80, 0x80]),
      Self.delimited(7, [UInt8](repeating: 0xFF, count: 11)),
    ] {
      let model = Self.model([Self.tensor("f", dims: [1], type: .float, broken)])
      XCTAssertNil(ONNXWireScanner.scan(ONNXMemorySource(bytes: model)))
      guard case .failure(.onnx(_, .corrupt)) = assertAgree(model, "\(broken)") else {
        return XCTFail("\(broken) decoded")
      }
    }
  }

  func testElementFieldsOfAnotherWireTypeStayUnknownFieldsAlike() throws {
    // raw_data as a varint, float_data as fixed64: swift-protobuf skips
    // both as unknown fields; the float_data that follows is the data.
    let fields =
      Self.tag(9, 0) + Self.varint(5) + Self.tag(4, 1) + Self.littleEndian([UInt64(7)])
      + Self.delimited(4, Self.littleEndian([Float(4).bitPattern]))
    let bytes = Self.model([Self.tensor("f", dims: [1], type: .float, fields)])
    XCTAssertNotNil(ONNXWireScanner.scan(ONNXMemorySource(bytes: bytes)))
    let model = try assertAgree(bytes, "other wire types").get()
    XCTAssertEqual(model.graph.initializer(named: "f")?.floatTensor?.storage, [4])
  }

  func testAGroupFallsBackToSwiftProtobuf() throws {
    // An unknown group (field 99) at the top level: swift-protobuf skips
    // it; the scanner does not follow groups and hands over.
    let bytes = Self.model([]) + Self.tag(99, 3) + Self.tag(1, 0) + [5] + Self.tag(99, 4)
    XCTAssertNil(ONNXWireScanner.scan(ONNXMemorySource(bytes: bytes)))
    XCTAssertNoThrow(try assertAgree(bytes, "group").get())
  }

  func testTwoGraphFieldsMergeAlike() throws {
    // protobuf merges a repeated message field: the initializers of both
    // graph fields, in order.
    let first = Self.model([
      Self.tensor("a", dims: [1], type: .float, Self.delimited(9, Self.littleEndian([UInt32(1)])))
    ])
    let second = Self.delimited(
      7, Self.delimited(5, Self.tensor("b", dims: [1], type: .int64, Self.tag(7, 0) + [3])))
    let model = try assertAgree(first + second, "two graphs").get()
    XCTAssertEqual(model.graph.initializers.map(\.name), ["a", "b"])
  }
}
