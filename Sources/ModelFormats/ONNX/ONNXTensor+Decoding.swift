import Foundation
import Tensors

/// TensorProto → `ONNXTensor`: dimensions checked and sized before anything
/// is allocated, elements from `raw_data` (little-endian), the typed field
/// or an external file, converted to Float32 or Int64.
extension ONNXTensor {
  /// Where a TensorProto's elements are: in the message swift-protobuf
  /// parsed (the reference, and attribute tensors), or in the model's
  /// bytes where `ONNXWireScanner` found them.
  enum ElementsPlace {
    case parsed
    case scanned(ONNXTensorPayload, in: any ONNXByteSource)
  }

  /// Decodes `proto`; `external` gives the bytes of a tensor stored outside
  /// the model (`data_location` EXTERNAL).
  static func decode(
    _ proto: Onnx_TensorProto, elements: ElementsPlace = .parsed,
    external: (_ entries: [String: String], _ name: String) throws(ONNXProblem) ->
      any ONNXByteSource
  ) throws(ONNXProblem) -> ONNXTensor {
    let name = proto.name
    guard !proto.hasSegment else {
      throw .unsupportedDataType(tensor: name, type: "segmented")
    }
    var count = 1
    for dim in proto.dims {
      guard dim >= 0, dim <= Int64(Int.max) else {
        throw .invalidDimensions(tensor: name, dims: proto.dims)
      }
      let (product, overflow) = count.multipliedReportingOverflow(by: Int(dim))
      guard !overflow else { throw .invalidDimensions(tensor: name, dims: proto.dims) }
      count = product
    }
    let dims = proto.dims.map { Int($0) }
    let code = proto.dataType
    guard let type = ONNXDataType(rawValue: code), let width = Self.byteWidth(type) else {
      throw .unsupportedDataType(tensor: name, type: ONNXDataType.name(of: code))
    }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: max(width, 4))
    guard !overflow, bytes <= ONNXModel.maximumTensorBytes else {
      throw .tensorTooLarge(
        tensor: name, bytes: overflow ? Int.max : bytes, limit: ONNXModel.maximumTensorBytes)
    }

    // The raw bytes are read where they lie (the model file, the parsed
    // message or an external file) straight into the new elements.
    let raw: (any ONNXByteSource)?
    if proto.dataLocation == .external {
      var entries: [String: String] = [:]
      for entry in proto.externalData { entries[entry.key] = entry.value }
      raw = try external(entries, name)
    } else {
      switch elements {
      case .parsed: raw = proto.hasRawData ? ONNXMemorySource(bytes: proto.rawData) : nil
      case .scanned(let payload, let source):
        raw = payload.rawData.map {
          ONNXSourceSlice(base: source, start: $0.lowerBound, count: $0.count)
        }
      }
    }
    if let raw {
      guard raw.count == count * width else {
        throw .sizeMismatch(tensor: name, declared: count, found: raw.count / width)
      }
    } else if case .scanned(let payload, _) = elements {
      let found = payload.typedCount(for: type)
      guard found == count else { throw .sizeMismatch(tensor: name, declared: count, found: found) }
    } else {
      return try fromTypedField(proto, type: type, count: count, dims: dims)
    }
    let shape = ElementShape(name: name, dims: dims, count: count, type: type)
    do {
      if let raw { return try fromLittleEndian(raw, shape) }
      guard case .scanned(let payload, let source) = elements else { preconditionFailure() }
      return try fromScannedFields(payload, in: source, shape)
    } catch {
      throw proto.dataLocation == .external
        ? .externalData(tensor: name, reason: error.reason) : .corrupt(reason: error.reason)
    }
  }

  /// Bytes per element in `raw_data`; nil for types convviz does not read.
  static func byteWidth(_ type: ONNXDataType) -> Int? {
    switch type {
    case .float, .int32: return 4
    case .float16: return 2
    case .double, .int64: return 8
    default: return nil
    }
  }

  private static func fromTypedField(
    _ proto: Onnx_TensorProto, type: ONNXDataType, count: Int, dims: [Int]
  ) throws(ONNXProblem) -> ONNXTensor {
    let name = proto.name
    let found: Int
    switch type {
    case .float: found = proto.floatData.count
    case .float16, .int32: found = proto.int32Data.count
    case .double: found = proto.doubleData.count
    default: found = proto.int64Data.count
    }
    guard found == count else { throw .sizeMismatch(tensor: name, declared: count, found: found) }
    let shape = Shape(dims)
    switch type {
    case .float:
      return ONNXTensor(name: name, Tensor(shape: shape, storage: proto.floatData))
    case .float16:
      // The 16 bits of each element sit in the low half of an int32.
      return ONNXTensor(
        name: name,
        Tensor(
          shape: shape,
          storage: proto.int32Data.map {
            Float(Float16(bitPattern: UInt16(truncatingIfNeeded: $0)))
          }
        ))
    case .double:
      return ONNXTensor(name: name, Tensor(shape: shape, storage: proto.doubleData.map(Float.init)))
    case .int32:
      return ONNXTensor(name: name, dims: dims, int64: proto.int32Data.map(Int64.init))
    default:
      return ONNXTensor(name: name, dims: dims, int64: proto.int64Data)
    }
  }
}

extension ONNXTensor {
  /// Decodes one serialized TensorProto (ONNX's test data `.pb` files);
  /// external data is refused.
  public static func decode(serialized bytes: [UInt8]) throws(ONNXProblem) -> ONNXTensor {
    let proto: Onnx_TensorProto
    do {
      proto = try Onnx_TensorProto(serializedBytes: bytes)
    } catch {
      throw .corrupt(reason: "not a serialized TensorProto (\(error))")
    }
    return try decode(proto) { (_, name) throws(ONNXProblem) in
      throw .externalData(tensor: name, reason: "is not read for a lone tensor")
    }
  }
}
