import Files
import Foundation
import SwiftProtobuf

extension ONNXModel {
  /// The complete file contents: tensors as little-endian `raw_data`.
  /// Attributes of kind `.other` are not written.
  public func encoded() -> [UInt8] {
    var proto = Onnx_ModelProto()
    proto.irVersion = Int64(irVersion)
    var defaultSet = Onnx_OperatorSetIdProto()
    defaultSet.domain = ""
    defaultSet.version = Int64(opset)
    proto.opsetImport = [defaultSet]
    for (domain, version) in otherOpsets.sorted(by: { $0.key < $1.key }) {
      var entry = Onnx_OperatorSetIdProto()
      entry.domain = domain
      entry.version = Int64(version)
      proto.opsetImport.append(entry)
    }
    proto.producerName = producerName
    if !producerVersion.isEmpty { proto.producerVersion = producerVersion }
    if !docString.isEmpty { proto.docString = docString }
    proto.metadataProps = metadata.map { Onnx_StringStringEntryProto($0.key, $0.value) }
    proto.graph = Onnx_GraphProto(graph)
    do {
      return try proto.serializedBytes()
    } catch {
      // Only missing required fields fail, and proto2 here has none.
      preconditionFailure("an ONNX model always serializes: \(error)")
    }
  }

  /// Writes the file atomically: readers see the old file or the new one.
  public func write(to path: String) throws(ModelFileError) {
    do {
      try AtomicFile.write(encoded(), to: path)
    } catch {
      throw .cannotWrite(error)
    }
  }
}

extension Onnx_StringStringEntryProto {
  init(_ key: String, _ value: String) {
    self.init()
    self.key = key
    self.value = value
  }
}

extension Onnx_GraphProto {
  init(_ graph: ONNXGraph) {
    self.init()
    name = graph.name
    input = graph.inputs.map(Onnx_ValueInfoProto.init)
    output = graph.outputs.map(Onnx_ValueInfoProto.init)
    initializer = graph.initializers.map(Onnx_TensorProto.init)
    node = graph.nodes.map(Onnx_NodeProto.init)
  }
}

extension Onnx_ValueInfoProto {
  init(_ info: ONNXValueInfo) {
    self.init()
    name = info.name
    type.tensorType.elemType = info.elementType.rawValue
    if let dims = info.dims {
      type.tensorType.shape = Onnx_TensorShapeProto()
      type.tensorType.shape.dim = dims.map { dimension in
        var dim = Onnx_TensorShapeProto.Dimension()
        switch dimension {
        case .fixed(let value): dim.dimValue = Int64(value)
        case .named(let name): dim.dimParam = name
        case .unknown: break
        }
        return dim
      }
    }
  }
}

extension Onnx_NodeProto {
  init(_ node: ONNXNode) {
    self.init()
    name = node.name
    opType = node.opType
    if !node.domain.isEmpty { domain = node.domain }
    input = node.inputs
    output = node.outputs
    attribute = node.attributes.compactMap(Onnx_AttributeProto.init)
  }
}

extension Onnx_AttributeProto {
  /// nil for `.other`, which convviz keeps only by name.
  init?(_ attribute: ONNXAttribute) {
    self.init()
    name = attribute.name
    switch attribute.value {
    case .float(let value): (type, f) = (.float, value)
    case .int(let value): (type, i) = (.int, Int64(value))
    case .string(let value): (type, s) = (.string, Data(value.utf8))
    case .tensor(let value): (type, t) = (.tensor, Onnx_TensorProto(value))
    case .floats(let values): (type, floats) = (.floats, values)
    case .ints(let values): (type, ints) = (.ints, values.map(Int64.init))
    case .strings(let values): (type, strings) = (.strings, values.map { Data($0.utf8) })
    case .other: return nil
    }
  }
}

extension Onnx_TensorProto {
  init(_ tensor: ONNXTensor) {
    self.init()
    name = tensor.name
    dims = tensor.dims.map(Int64.init)
    var bytes: [UInt8] = []
    switch tensor.elements {
    case .float(let value):
      dataType = Int32(ONNXDataType.float.rawValue)
      bytes.reserveCapacity(value.count * 4)
      for element in value.storage {
        withUnsafeBytes(of: element.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
      }
    case .int64(let values):
      dataType = Int32(ONNXDataType.int64.rawValue)
      bytes.reserveCapacity(values.count * 8)
      for element in values {
        withUnsafeBytes(of: element.littleEndian) { bytes.append(contentsOf: $0) }
      }
    }
    rawData = Data(bytes)
  }
}
