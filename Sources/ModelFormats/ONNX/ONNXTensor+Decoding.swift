import Foundation
import Tensors

/// TensorProto → `ONNXTensor`: dimensions checked and sized before anything
/// is allocated, elements from `raw_data` (little-endian), the typed field
/// or an external file, converted to Float32 or Int64.
extension ONNXTensor {
  /// Decodes `proto`; `external` loads the bytes of a tensor stored outside
  /// the model (`data_location` EXTERNAL).
  static func decode(
    _ proto: Onnx_TensorProto,
    external: (_ entries: [String: String], _ name: String) throws(ONNXProblem) -> ArraySlice<UInt8>
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

    // Read where they lie, raw_data in the parsed message or the slice of
    // an external file, without another copy.
    func convert(_ buffer: UnsafeRawBufferPointer) -> ONNXTensor {
      Self.fromLittleEndian(buffer, type: type, count: count, name: name, dims: dims)
    }
    if proto.dataLocation == .external {
      var entries: [String: String] = [:]
      for entry in proto.externalData { entries[entry.key] = entry.value }
      let raw = try external(entries, name)
      guard raw.count == count * width else {
        throw .sizeMismatch(tensor: name, declared: count, found: raw.count / width)
      }
      return raw.withUnsafeBytes(convert)
    } else if proto.hasRawData {
      guard proto.rawData.count == count * width else {
        throw .sizeMismatch(tensor: name, declared: count, found: proto.rawData.count / width)
      }
      return proto.rawData.withUnsafeBytes(convert)
    }
    return try fromTypedField(proto, type: type, count: count, dims: dims)
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

  private static func fromLittleEndian(
    _ buffer: UnsafeRawBufferPointer, type: ONNXDataType, count: Int, name: String, dims: [Int]
  ) -> ONNXTensor {
    func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
      T(littleEndian: buffer.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
    }
    let shape = Shape(dims)
    switch type {
    case .float:
      return ONNXTensor(
        name: name,
        Tensor(shape: shape, storage: (0..<count).map { Float(bitPattern: load(UInt32.self, $0)) })
      )
    case .float16:
      return ONNXTensor(
        name: name,
        Tensor(
          shape: shape,
          storage: (0..<count).map { Float(Float16(bitPattern: load(UInt16.self, $0))) }))
    case .double:
      return ONNXTensor(
        name: name,
        Tensor(
          shape: shape,
          storage: (0..<count).map { Float(Double(bitPattern: load(UInt64.self, $0))) }))
    case .int32:
      return ONNXTensor(
        name: name, dims: dims, int64: (0..<count).map { Int64(load(Int32.self, $0)) })
    default:
      return ONNXTensor(name: name, dims: dims, int64: (0..<count).map { load(Int64.self, $0) })
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
