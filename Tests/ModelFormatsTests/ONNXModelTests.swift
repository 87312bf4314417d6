import Foundation
import Tensors
import XCTest

@testable import ModelFormats

final class ONNXModelTests: XCTestCase {
  private static func sampleModel() -> ONNXModel {
    let weights = Tensor(
      shape: Shape(2, 1, 2, 2), storage: [0.5, -1.25, 3, 0, -0.0, 1e-7, 65504, -3.5])
    let graph = ONNXGraph(
      name: "tiny",
      inputs: [ONNXValueInfo(name: "x", dims: [.named("N"), .fixed(1), .fixed(3), .unknown])],
      outputs: [ONNXValueInfo(name: "y", dims: nil)],
      nodes: [
        ONNXNode(
          name: "conv", opType: "Conv", inputs: ["x", "W", ""], outputs: ["c"],
          attributes: [
            ONNXAttribute("kernel_shape", .ints([2, 2])), ONNXAttribute("group", .int(1)),
            ONNXAttribute("auto_pad", .string("NOTSET")),
          ]),
        ONNXNode(
          name: "scale", opType: "LeakyRelu", inputs: ["c"], outputs: ["l"],
          attributes: [ONNXAttribute("alpha", .float(0.125))]),
        ONNXNode(name: "shape", opType: "Reshape", inputs: ["l", "s"], outputs: ["y"]),
      ],
      initializers: [
        ONNXTensor(name: "W", weights), ONNXTensor(name: "s", dims: [2], int64: [-1, 8]),
      ])
    return ONNXModel(
      opset: 13, otherOpsets: ["ai.onnx.ml": 2], producerVersion: "test",
      metadata: [ONNXMetadataEntry("layout", "NCHW"), ONNXMetadataEntry("classes", "a\nb")],
      graph: graph)
  }

  private func problem(
    _ bytes: [UInt8], folder: String? = nil, file: StaticString = #filePath, line: UInt = #line
  ) -> ONNXProblem? {
    do {
      _ = try ONNXModel.decode(bytes, path: "m.onnx", externalDataFolder: folder)
      XCTFail("decoded", file: file, line: line)
      return nil
    } catch {
      guard case .onnx(let path, let problem) = error else {
        XCTFail("unexpected \(error)", file: file, line: line)
        return nil
      }
      XCTAssertEqual(path, "m.onnx", file: file, line: line)
      XCTAssertTrue(error.description.hasPrefix("m.onnx: "), file: file, line: line)
      return problem
    }
  }

  private static func proto(_ model: ONNXModel) -> Onnx_ModelProto {
    try! Onnx_ModelProto(serializedBytes: model.encoded())
  }

  private static func bytes(_ proto: Onnx_ModelProto) -> [UInt8] {
    try! proto.serializedBytes()
  }

  private func writeFile(_ path: String, _ data: Data) throws {
    try data.write(to: URL(fileURLWithPath: path))
  }

  private func temporaryFolder() throws -> String {
    let folder = NSTemporaryDirectory() + "convviz-onnx-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
    return folder
  }

  // MARK: Round trips

  func testEncodedModelDecodesToTheSameModel() throws {
    let model = Self.sampleModel()
    XCTAssertEqual(try ONNXModel.decode(model.encoded(), path: "m.onnx"), model)
  }

  func testWriteThenReadGivesTheSameModelAndWeightBits() throws {
    let path = try temporaryFolder() + "/model.onnx"
    let model = Self.sampleModel()
    try model.write(to: path)
    let back = try ONNXModel.read(from: path)
    XCTAssertEqual(back, model)
    let original = model.graph.initializers[0].floatTensor!.storage.map(\.bitPattern)
    XCTAssertEqual(back.graph.initializers[0].floatTensor!.storage.map(\.bitPattern), original)
    XCTAssertEqual(back.graph.dataInputs.map(\.name), ["x"])
    XCTAssertEqual(back.metadataValue("layout"), "NCHW")
  }

  func testWriteIntoAMissingFolderThrowsAndLeavesNothing() throws {
    let folder = try temporaryFolder()
    XCTAssertThrowsError(try Self.sampleModel().write(to: folder + "/missing/model.onnx")) {
      guard case .cannotWrite = $0 as? ModelFileError else { return XCTFail("\($0)") }
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [])
  }

  func testUnknownFieldsAreSkipped() throws {
    var bytes = Self.sampleModel().encoded()
    // Field 99 (varint 7) and field 100 (4 bytes), which this reader has
    // never heard of, at the top level of the ModelProto.
    bytes += [0x98, 0x06, 0x07, 0xA2, 0x06, 0x04, 1, 2, 3, 4]
    XCTAssertEqual(try ONNXModel.decode(bytes, path: "m.onnx"), Self.sampleModel())
  }

  // MARK: Element encodings

  func testFloatDataAndInt64DataFieldsAreRead() throws {
    var proto = Self.proto(Self.sampleModel())
    proto.graph.initializer[0].clearRawData()
    proto.graph.initializer[0].floatData = [1, 2, 3, 4, 5, 6, 7, 8]
    proto.graph.initializer[1].clearRawData()
    proto.graph.initializer[1].int64Data = [4, -2]
    let model = try ONNXModel.decode(Self.bytes(proto), path: "m.onnx")
    XCTAssertEqual(model.graph.initializers[0].floatTensor?.storage, [1, 2, 3, 4, 5, 6, 7, 8])
    XCTAssertEqual(model.graph.initializers[0].floatTensor?.shape, Shape(2, 1, 2, 2))
    XCTAssertEqual(model.graph.initializers[1].int64Values, [4, -2])
  }

  func testFloat16IsConvertedFromRawDataAndInt32Data() throws {
    // IEEE half-precision bit patterns and their values worked by hand:
    // 1.0, -2.0, 0.5, the largest finite half 65504, the smallest
    // subnormal 2^-24, and +infinity.
    let bits: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x7C00]
    let values: [Float] = [1, -2, 0.5, 65504, 1.0 / 16_777_216, .infinity]
    var proto = Self.proto(Self.sampleModel())
    var tensor = Onnx_TensorProto()
    tensor.name = "h"
    tensor.dims = [6]
    tensor.dataType = Int32(ONNXDataType.float16.rawValue)
    tensor.rawData = Data(bits.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
    proto.graph.initializer.append(tensor)
    var model = try ONNXModel.decode(Self.bytes(proto), path: "m.onnx")
    XCTAssertEqual(model.graph.initializer(named: "h")?.floatTensor?.storage, values)

    tensor.clearRawData()
    tensor.int32Data = bits.map(Int32.init)
    proto.graph.initializer[2] = tensor
    model = try ONNXModel.decode(Self.bytes(proto), path: "m.onnx")
    XCTAssertEqual(model.graph.initializer(named: "h")?.floatTensor?.storage, values)
  }

  func testDoubleAndInt32AreConverted() throws {
    var proto = Self.proto(Self.sampleModel())
    var double = Onnx_TensorProto()
    double.name = "d"
    double.dims = [2]
    double.dataType = Int32(ONNXDataType.double.rawValue)
    double.doubleData = [0.25, -1e300]
    var int32 = Onnx_TensorProto()
    int32.name = "i"
    int32.dims = [3]
    int32.dataType = Int32(ONNXDataType.int32.rawValue)
    int32.rawData = Data([1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0x80])
    proto.graph.initializer += [double, int32]
    let model = try ONNXModel.decode(Self.bytes(proto), path: "m.onnx")
    XCTAssertEqual(model.graph.initializer(named: "d")?.floatTensor?.storage, [0.25, -.infinity])
    XCTAssertEqual(model.graph.initializer(named: "i")?.int64Values, [1, -1, -2_147_483_648])
  }

  // MARK: External data

  private func externalModel(
    location: String, offset: Int? = nil, length: Int? = nil
  )
    -> [UInt8]
  {
    var proto = Self.proto(Self.sampleModel())
    proto.graph.initializer[0].clearRawData()
    proto.graph.initializer[0].dataLocation = .external
    var entries = [Onnx_StringStringEntryProto("location", location)]
    if let offset { entries.append(Onnx_StringStringEntryProto("offset", "\(offset)")) }
    if let length { entries.append(Onnx_StringStringEntryProto("length", "\(length)")) }
    proto.graph.initializer[0].externalData = entries
    return Self.bytes(proto)
  }

  private func weightBytes() -> [UInt8] {
    Self.sampleModel().graph.initializers[0].floatTensor!.storage.flatMap { value in
      withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
    }
  }

  func testExternalDataBesideTheModelIsRead() throws {
    let folder = try temporaryFolder()
    try FileManager.default.createDirectory(
      atPath: folder + "/weights", withIntermediateDirectories: true)
    try writeFile(folder + "/weights/w.bin", Data([9, 9, 9] + weightBytes() + [7]))
    let bytes = externalModel(location: "weights/w.bin", offset: 3, length: 32)
    try writeFile(folder + "/m.onnx", Data(bytes))
    XCTAssertEqual(try ONNXModel.read(from: folder + "/m.onnx"), Self.sampleModel())
  }

  func testExternalDataOutsideTheFolderIsRefused() throws {
    let outer = try temporaryFolder()
    let folder = outer + "/model"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try writeFile(outer + "/w.bin", Data(weightBytes()))
    try FileManager.default.createSymbolicLink(
      atPath: folder + "/link.bin", withDestinationPath: outer + "/w.bin")
    for location in ["../w.bin", outer + "/w.bin", "link.bin", "missing.bin"] {
      guard
        case .externalData(let tensor, let reason) = problem(
          externalModel(location: location), folder: folder)
      else { return XCTFail(location) }
      XCTAssertEqual(tensor, "W")
      XCTAssertTrue(reason.contains(location), reason)
    }
    // Without a folder (decoding bytes alone) nothing outside is read.
    guard case .externalData = problem(externalModel(location: "w.bin")) else {
      return XCTFail()
    }
  }

  func testExternalDataShorterThanItsLengthIsRefused() throws {
    let folder = try temporaryFolder()
    try writeFile(folder + "/w.bin", Data(weightBytes()))
    guard
      case .externalData(_, let reason) = problem(
        externalModel(location: "w.bin", offset: 8, length: 32), folder: folder)
    else { return XCTFail() }
    XCTAssertTrue(reason.contains("32 bytes"), reason)
    XCTAssertEqual(
      problem(externalModel(location: "w.bin", offset: 4), folder: folder),
      .sizeMismatch(tensor: "W", declared: 8, found: 7))
  }

  // MARK: Bad input

  func testTruncatedFileIsCorrupt() throws {
    let bytes = Self.sampleModel().encoded()
    for cut in [1, 7, bytes.count / 2, bytes.count - 5] {
      guard case .corrupt(let reason) = problem(Array(bytes.prefix(cut))) else {
        return XCTFail("cut at \(cut)")
      }
      XCTAssertTrue(reason.contains("truncated") || reason.contains("corrupt"), reason)
    }
  }

  func testGarbageIsCorruptAndEmptyHoldsNoGraph() throws {
    guard case .corrupt = problem([0xFF, 0xFF, 0xFF, 0xFF]) else { return XCTFail() }
    guard case .corrupt = problem(Array("\u{89}PNG\r\n\u{1A}\n".utf8)) else { return XCTFail() }
    XCTAssertEqual(problem([]), .noGraph)
  }

  func testMissingInitializerIsNamed() throws {
    var proto = Self.proto(Self.sampleModel())
    proto.graph.initializer.remove(at: 0)
    XCTAssertEqual(problem(Self.bytes(proto)), .missingTensor(node: "conv", tensor: "W"))
    proto = Self.proto(Self.sampleModel())
    proto.graph.output[0].name = "nowhere"
    XCTAssertEqual(
      problem(Self.bytes(proto)), .missingTensor(node: "graph output", tensor: "nowhere"))
  }

  func testDeclaredSizeDisagreeingWithTheDataIsRefused() throws {
    var proto = Self.proto(Self.sampleModel())
    proto.graph.initializer[0].dims = [2, 1, 2, 3]
    XCTAssertEqual(problem(Self.bytes(proto)), .sizeMismatch(tensor: "W", declared: 12, found: 8))
    proto = Self.proto(Self.sampleModel())
    proto.graph.initializer[1].clearRawData()
    proto.graph.initializer[1].int64Data = [1, 2, 3]
    XCTAssertEqual(problem(Self.bytes(proto)), .sizeMismatch(tensor: "s", declared: 2, found: 3))
    proto.graph.initializer[1].dims = [-1, 3]
    XCTAssertEqual(problem(Self.bytes(proto)), .invalidDimensions(tensor: "s", dims: [-1, 3]))
    proto.graph.initializer[1].dims = [1 << 40, 1 << 40]
    XCTAssertEqual(
      problem(Self.bytes(proto)), .invalidDimensions(tensor: "s", dims: [1 << 40, 1 << 40]))
    proto.graph.initializer[1].dims = [1 << 31, 1 << 20]
    guard case .tensorTooLarge(let name, _, _) = problem(Self.bytes(proto)) else {
      return XCTFail()
    }
    XCTAssertEqual(name, "s")
  }

  func testCycleIsRefused() throws {
    var proto = Self.proto(Self.sampleModel())
    // conv reads the reshape's output, which depends on conv.
    proto.graph.node[0].input[0] = "y"
    XCTAssertEqual(problem(Self.bytes(proto)), .cycle(nodes: ["conv", "scale", "shape"]))
  }

  func testDuplicateTensorIsRefused() throws {
    var proto = Self.proto(Self.sampleModel())
    proto.graph.node[1].output[0] = "c"
    XCTAssertEqual(problem(Self.bytes(proto)), .duplicateTensor("c"))
  }

  func testOpsetOutsideTheSupportedRangeIsRefused() throws {
    var model = Self.sampleModel()
    model.opset = ONNXModel.supportedOpsets.upperBound + 1
    let newer = problem(model.encoded())
    XCTAssertEqual(
      newer, .unsupportedOpset(found: model.opset, supported: ONNXModel.supportedOpsets))
    XCTAssertTrue(newer!.description.contains("newer"))
    model.opset = 6
    XCTAssertEqual(
      problem(model.encoded()), .unsupportedOpset(found: 6, supported: ONNXModel.supportedOpsets))
  }

  func testUnsupportedElementTypeIsNamed() throws {
    var proto = Self.proto(Self.sampleModel())
    proto.graph.initializer[1].dataType = Int32(ONNXDataType.string.rawValue)
    XCTAssertEqual(
      problem(Self.bytes(proto)), .unsupportedDataType(tensor: "s", type: "string"))
    XCTAssertEqual(
      ONNXProblem.unsupportedDataType(tensor: "s", type: "string").description,
      "tensor 's' holds string elements, which convviz does not read")
  }

  func testReadRefusesADirectoryAndAMissingFile() throws {
    let folder = try temporaryFolder()
    XCTAssertThrowsError(try ONNXModel.read(from: folder)) {
      guard case .cannotRead(let path, _) = $0 as? ModelFileError else { return XCTFail() }
      XCTAssertEqual(path, folder)
    }
    XCTAssertThrowsError(try ONNXModel.read(from: folder + "/none.onnx"))
  }
}
