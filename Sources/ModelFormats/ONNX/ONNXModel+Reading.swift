import Files
import Foundation
import SwiftProtobuf

#if canImport(Glibc)
  import Glibc
#endif

extension ONNXModel {
  /// How `read` and `decode` parse a model.
  public enum Parsing: Sendable {
    /// `ONNXWireScanner` finds the initializers' elements, which are then
    /// read from the file straight into their tensors (once, with
    /// `pread`), and swift-protobuf parses the rest of the model; anything
    /// the scanner does not follow falls back to `.wholeMessage`, which
    /// then gives the model or the error. The default.
    case scanning
    /// swift-protobuf parses the whole file, weights included, and the
    /// tensors are converted from the parsed message: the reference the
    /// scanner is tested against, holding the weights twice while it reads.
    case wholeMessage
  }

  /// Reads and checks the ONNX file at `path`; external-data files are
  /// looked up in the same folder.
  public static func read(
    from path: String, parsing: Parsing = .scanning
  ) throws(ModelFileError) -> ONNXModel {
    let folder = Path.folder(of: path)
    if parsing == .scanning {
      let source: ONNXFileSource
      do {
        source = try ONNXFileSource(path: path, maximumBytes: maximumFileSize)
      } catch {
        throw Self.fileError(error, path: path)
      }
      do {
        if let model = try decodeScanned(source, externalDataFolder: folder) { return model }
      } catch {
        throw .onnx(path: path, error)
      }
    }
    let bytes: [UInt8]
    do {
      bytes = try FileContents.read(path, maximumBytes: maximumFileSize)
    } catch {
      throw Self.fileError(error, path: path)
    }
    return try decode(
      consume bytes, path: path, externalDataFolder: folder, parsing: .wholeMessage)
  }

  private static func fileError(_ error: FileError, path: String) -> ModelFileError {
    if case .tooLarge(_, let size, _) = error { return .tooLarge(path: path, bytes: size) }
    return .cannotRead(path: path, reason: error.problem)
  }

  /// Checks and decodes file contents. `path` names the file in errors;
  /// tensors stored in external files are read from `externalDataFolder`
  /// (and refused when it is nil).
  ///
  /// Memory: the weights are converted from `bytes` one tensor at a time
  /// (`.wholeMessage`: from the parsed message, each tensor's parsed bytes
  /// let go once converted, and the file's bytes once parsed when the
  /// caller gives them up: `decode(consume bytes, …)`).
  public static func decode(
    _ bytes: consuming [UInt8], path: String, externalDataFolder: String? = nil,
    parsing: Parsing = .scanning
  ) throws(ModelFileError) -> ONNXModel {
    do {
      // `consume`: unoptimised builds would otherwise keep a copy here.
      switch parsing {
      case .scanning:
        let source = ONNXMemorySource(bytes: consume bytes)
        if let model = try decodeScanned(source, externalDataFolder: externalDataFolder) {
          return model
        }
        return try decodeWholeMessage(source.bytes, externalDataFolder: externalDataFolder)
      case .wholeMessage:
        return try decodeWholeMessage(consume bytes, externalDataFolder: externalDataFolder)
      }
    } catch {
      throw .onnx(path: path, error)
    }
  }

  /// The model in `source` through `ONNXWireScanner`; nil when the scanner
  /// or swift-protobuf's parse of the stripped model stops, and the whole
  /// message must be parsed to give the error (or the model) exactly as
  /// `.wholeMessage` does.
  static func decodeScanned(
    _ source: any ONNXByteSource, externalDataFolder: String?
  ) throws(ONNXProblem) -> ONNXModel? {
    guard let scan = ONNXWireScanner.scan(source),
      var proto = try? Onnx_ModelProto(serializedBytes: scan.stripped),
      proto.graph.initializer.count == scan.payloads.count
    else { return nil }
    return try assemble(
      &proto, elements: scan.payloads.map { .scanned($0, in: source) },
      externalDataFolder: externalDataFolder)
  }

  static func decodeWholeMessage(
    _ bytes: consuming [UInt8], externalDataFolder: String?
  ) throws(ONNXProblem) -> ONNXModel {
    var proto: Onnx_ModelProto
    do {
      proto = try Onnx_ModelProto(serializedBytes: bytes)
    } catch let error as BinaryDecodingError {
      throw .corrupt(reason: Self.describe(error))
    } catch {
      throw .corrupt(reason: "\(error)")
    }
    // The parsed message holds its own copy of every initializer's bytes.
    bytes = []
    return try assemble(&proto, elements: nil, externalDataFolder: externalDataFolder)
  }

  /// The model `proto` describes, its graph taken out of it; `elements`
  /// gives where each initializer's elements are when not in `proto`.
  private static func assemble(
    _ proto: inout Onnx_ModelProto, elements: [ONNXTensor.ElementsPlace]?,
    externalDataFolder: String?
  ) throws(ONNXProblem) -> ONNXModel {
    guard proto.hasGraph else { throw .noGraph }
    var opset: Int?
    var others: [String: Int] = [:]
    for entry in proto.opsetImport {
      if entry.domain.isEmpty || entry.domain == "ai.onnx" {
        opset = Int(clamping: entry.version)
      } else {
        others[entry.domain] = Int(clamping: entry.version)
      }
    }
    // Before IR version 3 a model without opset_import meant opset 1.
    let found = opset ?? 1
    guard supportedOpsets.contains(found) else {
      throw .unsupportedOpset(found: found, supported: supportedOpsets)
    }
    var externalFiles = ExternalDataFiles(folder: externalDataFolder)
    // The graph message taken out of the model's, so that it is the only
    // holder of the initializers' bytes and can let each go.
    var graphProto = proto.graph
    proto.clearGraph()
    let graph = try ONNXGraph(
      taking: &graphProto, elements: elements, externalFiles: &externalFiles)
    try graph.checkReferences()
    return ONNXModel(
      irVersion: Int(clamping: proto.irVersion), opset: found, otherOpsets: others,
      producerName: proto.producerName, producerVersion: proto.producerVersion,
      docString: proto.docString,
      metadata: proto.metadataProps.map { ONNXMetadataEntry($0.key, $0.value) }, graph: graph)
  }

  private static func describe(_ error: BinaryDecodingError) -> String {
    switch error {
    case .truncated: return "protobuf data is truncated"
    case .malformedProtobuf: return "protobuf data is corrupt"
    case .invalidUTF8: return "a string is not valid UTF-8"
    case .messageDepthLimit: return "messages are nested too deeply"
    default: return "protobuf data is corrupt (\(error))"
    }
  }
}

extension ONNXGraph {
  /// The graph `proto` holds; its initializers are taken out of it (each
  /// one's bytes let go once converted). `elements[k]` says where
  /// initializer k's elements are (nil: all in `proto`).
  init(
    taking proto: inout Onnx_GraphProto, elements: [ONNXTensor.ElementsPlace]?,
    externalFiles: inout ExternalDataFiles
  ) throws(ONNXProblem) {
    var tensors = proto.initializer
    proto.initializer = []
    var initializers: [ONNXTensor] = []
    initializers.reserveCapacity(tensors.count)
    for k in tensors.indices {
      let tensor = tensors[k]
      tensors[k] = Onnx_TensorProto()
      initializers.append(
        try ONNXTensor.decode(tensor, elements: elements?[k] ?? .parsed) {
          (entries, name) throws(ONNXProblem) in
          try externalFiles.bytes(entries, tensor: name)
        })
    }
    var nodes: [ONNXNode] = []
    for (k, node) in proto.node.enumerated() {
      nodes.append(try ONNXNode(node, index: k))
    }
    self.init(
      name: proto.name, inputs: proto.input.map(ONNXValueInfo.init),
      outputs: proto.output.map(ONNXValueInfo.init), nodes: nodes, initializers: initializers)
  }

  /// Every tensor a node or the output list reads is defined exactly once,
  /// and the nodes can run in some order (no cycle).
  func checkReferences() throws(ONNXProblem) {
    var defined = Set<String>()
    for name in initializers.map(\.name) {
      guard defined.insert(name).inserted else { throw .duplicateTensor(name) }
    }
    // Inputs that repeat an initializer's name are the older IR's
    // convention, not a duplicate.
    let constants = defined
    for input in inputs where !constants.contains(input.name) {
      guard defined.insert(input.name).inserted else { throw .duplicateTensor(input.name) }
    }
    var producer: [String: Int] = [:]
    for (k, node) in nodes.enumerated() {
      for output in node.outputs where !output.isEmpty {
        guard !defined.contains(output), producer[output] == nil else {
          throw .duplicateTensor(output)
        }
        producer[output] = k
      }
    }
    var waitingOn = [Int](repeating: 0, count: nodes.count)
    var readers = [[Int]](repeating: [], count: nodes.count)
    for (k, node) in nodes.enumerated() {
      for input in node.inputs where !input.isEmpty && !defined.contains(input) {
        guard let source = producer[input] else {
          throw .missingTensor(node: node.displayName, tensor: input)
        }
        waitingOn[k] += 1
        readers[source].append(k)
      }
    }
    for output in outputs where !defined.contains(output.name) && producer[output.name] == nil {
      throw .missingTensor(node: "graph output", tensor: output.name)
    }
    var ready = nodes.indices.filter { waitingOn[$0] == 0 }
    var done = 0
    while let k = ready.popLast() {
      done += 1
      for reader in readers[k] {
        waitingOn[reader] -= 1
        if waitingOn[reader] == 0 { ready.append(reader) }
      }
    }
    guard done == nodes.count else {
      throw .cycle(nodes: nodes.indices.filter { waitingOn[$0] > 0 }.map { nodes[$0].displayName })
    }
  }
}

extension ONNXNode {
  init(_ proto: Onnx_NodeProto, index: Int) throws(ONNXProblem) {
    var attributes: [ONNXAttribute] = []
    for attribute in proto.attribute {
      attributes.append(
        ONNXAttribute(
          attribute.name, try ONNXAttribute.Value(attribute, node: proto.name)))
    }
    self.init(
      name: proto.name.isEmpty ? "#\(index) \(proto.opType)" : proto.name, opType: proto.opType,
      domain: proto.domain, inputs: proto.input, outputs: proto.output, attributes: attributes)
  }

  /// The node's name as messages show it.
  var displayName: String { name }
}

extension ONNXAttribute.Value {
  init(_ proto: Onnx_AttributeProto, node: String) throws(ONNXProblem) {
    func noExternal(
      _: [String: String], _ name: String
    ) throws(ONNXProblem) -> any ONNXByteSource {
      throw .externalData(tensor: name, reason: "is not allowed in an attribute")
    }
    switch proto.type {
    case .float: self = .float(proto.f)
    case .int: self = .int(Int(clamping: proto.i))
    case .string: self = .string(String(decoding: proto.s, as: UTF8.self))
    case .tensor: self = .tensor(try ONNXTensor.decode(proto.t, external: noExternal))
    case .floats: self = .floats(proto.floats)
    case .ints: self = .ints(proto.ints.map { Int(clamping: $0) })
    case .strings: self = .strings(proto.strings.map { String(decoding: $0, as: UTF8.self) })
    default: self = .other(kind: "\(proto.type)")
    }
  }
}

extension ONNXValueInfo {
  init(_ proto: Onnx_ValueInfoProto) {
    let tensorType = proto.type.tensorType
    self.init(
      name: proto.name,
      elementType: ONNXDataType(rawValue: tensorType.elemType) ?? .undefined,
      dims: tensorType.hasShape
        ? tensorType.shape.dim.map { dim in
          switch dim.value {
          case .dimValue(let value): return .fixed(Int(clamping: value))
          case .dimParam(let name): return .named(name)
          case nil: return .unknown
          }
        } : nil)
  }
}

/// The files holding tensors stored outside the model, each opened once
/// and read by `pread`, a tensor's bytes straight into its elements.
/// A location must name a regular file inside the model's folder: no
/// absolute paths, no `..`, and no link leading out of the folder.
struct ExternalDataFiles {
  let folder: String?
  private var opened: [String: ONNXFileSource] = [:]

  init(folder: String?) { self.folder = folder }

  mutating func bytes(
    _ entries: [String: String], tensor: String
  ) throws(ONNXProblem) -> any ONNXByteSource {
    guard let folder else {
      throw .externalData(tensor: tensor, reason: "cannot be read without the model's folder")
    }
    guard let location = entries["location"], !location.isEmpty else {
      throw .externalData(tensor: tensor, reason: "has no location")
    }
    let parts = location.split(separator: "/", omittingEmptySubsequences: false)
    guard !location.hasPrefix("/"), !parts.contains(".."), !location.contains("\0") else {
      throw .externalData(
        tensor: tensor, reason: "location '\(location)' is outside the model's folder")
    }
    let path = Path.join(folder, location)
    guard let real = Self.realPath(path), let realFolder = Self.realPath(folder),
      real.hasPrefix(realFolder.hasSuffix("/") ? realFolder : realFolder + "/")
    else {
      throw .externalData(
        tensor: tensor, reason: "location '\(location)' is missing or outside the model's folder")
    }
    let file: ONNXFileSource
    if let known = opened[real] {
      file = known
    } else {
      do {
        file = try ONNXFileSource(path: real, maximumBytes: ONNXModel.maximumTensorBytes)
      } catch {
        throw .externalData(tensor: tensor, reason: "'\(location)': \(error.problem)")
      }
      opened[real] = file
    }
    guard let offset = Self.integer(entries["offset"] ?? "0"),
      let length = Self.integer(entries["length"] ?? "\(max(file.count - offset, 0))")
    else {
      throw .externalData(tensor: tensor, reason: "has an invalid offset or length")
    }
    guard offset <= file.count, length <= file.count - offset else {
      throw .externalData(
        tensor: tensor,
        reason: "'\(location)' holds \(file.count) bytes, fewer than offset \(offset) "
          + "+ length \(length)")
    }
    return ONNXSourceSlice(base: file, start: offset, count: length)
  }

  private static func integer(_ text: String) -> Int? {
    guard let value = Int(text), value >= 0 else { return nil }
    return value
  }

  private static func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }
}
