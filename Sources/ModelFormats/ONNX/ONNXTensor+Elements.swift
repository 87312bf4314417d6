import Foundation
import Tensors

/// Elements read from an `ONNXByteSource` into a new tensor: the
/// little-endian bytes of `raw_data` (or of an external file), and the
/// typed fields where `ONNXWireScanner` found them, converted in pieces so
/// that no second copy of a weight is made.
extension ONNXTensor {
  /// What the elements become: name, dimensions, element count and type.
  struct ElementShape {
    let name: String
    let dims: [Int]
    let count: Int
    let type: ONNXDataType
  }

  /// Elements converted per piece: small enough to stay in cache, large
  /// enough that a `pread` each costs nothing.
  private static let piece = 1 << 16

  /// `shape.count` little-endian elements of `shape.type` from the start of
  /// `source`.
  static func fromLittleEndian(
    _ source: any ONNXByteSource, _ shape: ElementShape
  ) throws(ONNXSourceFailure) -> ONNXTensor {
    let count = shape.count
    switch shape.type {
    case .float:
      let storage = try filled(Float.self, count: count) { (buffer) throws(ONNXSourceFailure) in
        try source.copy(from: 0, into: UnsafeMutableRawBufferPointer(buffer))
        #if _endian(big)
          for i in buffer.indices {
            buffer[i] = Float(bitPattern: UInt32(littleEndian: buffer[i].bitPattern))
          }
        #endif
      }
      return ONNXTensor(name: shape.name, Tensor(shape: Shape(shape.dims), storage: storage))
    case .float16:
      return try floats(shape, fixed: UInt16.self, from: [0..<(count * 2)], in: source) {
        Float(Float16(bitPattern: $0))
      }
    case .double:
      return try floats(shape, fixed: UInt64.self, from: [0..<(count * 8)], in: source) {
        Float(Double(bitPattern: $0))
      }
    case .int32:
      let values = try converted(
        UInt32.self, count: count, from: [0..<(count * 4)], in: source
      ) { Int64(Int32(bitPattern: $0)) }
      return ONNXTensor(name: shape.name, dims: shape.dims, int64: values)
    default:
      let values = try converted(
        UInt64.self, count: count, from: [0..<(count * 8)], in: source
      ) { Int64(bitPattern: $0) }
      return ONNXTensor(name: shape.name, dims: shape.dims, int64: values)
    }
  }

  /// The elements of the typed field for `shape.type` (`float_data`,
  /// `int32_data` for int32 and float16, `int64_data`, `double_data`),
  /// whose bodies `payload` locates in `source`; the caller has checked
  /// their count. Values convert as swift-protobuf's decode and
  /// `fromTypedField` do.
  static func fromScannedFields(
    _ payload: ONNXTensorPayload, in source: any ONNXByteSource, _ shape: ElementShape
  ) throws(ONNXSourceFailure) -> ONNXTensor {
    switch shape.type {
    case .float:
      return try floats(shape, fixed: UInt32.self, from: payload.floatData, in: source) {
        Float(bitPattern: $0)
      }
    case .double:
      return try floats(shape, fixed: UInt64.self, from: payload.doubleData, in: source) {
        Float(Double(bitPattern: $0))
      }
    case .float16:
      // The 16 bits of each element sit in the low half of an int32.
      let storage = try varints(count: shape.count, from: payload.int32Data, in: source) {
        Float(Float16(bitPattern: UInt16(truncatingIfNeeded: $0)))
      }
      return ONNXTensor(name: shape.name, Tensor(shape: Shape(shape.dims), storage: storage))
    case .int32:
      let values = try varints(count: shape.count, from: payload.int32Data, in: source) {
        Int64(Int32(truncatingIfNeeded: $0))
      }
      return ONNXTensor(name: shape.name, dims: shape.dims, int64: values)
    default:
      let values = try varints(count: shape.count, from: payload.int64Data, in: source) {
        Int64(bitPattern: $0)
      }
      return ONNXTensor(name: shape.name, dims: shape.dims, int64: values)
    }
  }

  private static func floats<Bits: FixedWidthInteger>(
    _ shape: ElementShape, fixed: Bits.Type, from ranges: [Range<Int>],
    in source: any ONNXByteSource, _ convert: (Bits) -> Float
  ) throws(ONNXSourceFailure) -> ONNXTensor {
    let storage = try converted(Bits.self, count: shape.count, from: ranges, in: source, convert)
    return ONNXTensor(name: shape.name, Tensor(shape: Shape(shape.dims), storage: storage))
  }

  /// An array of `count` elements, each converted from a little-endian
  /// `Bits` read from `ranges` of `source` in order (their bytes are
  /// `count` elements in all).
  private static func converted<Bits: FixedWidthInteger, Element>(
    _: Bits.Type, count: Int, from ranges: [Range<Int>], in source: any ONNXByteSource,
    _ convert: (Bits) -> Element
  ) throws(ONNXSourceFailure) -> [Element] {
    let width = MemoryLayout<Bits>.size
    let scratch = UnsafeMutableRawBufferPointer.allocate(
      byteCount: min(piece, count) * width, alignment: 16)
    defer { scratch.deallocate() }
    return try filled(Element.self, count: count) { (buffer) throws(ONNXSourceFailure) in
      var next = 0
      for range in ranges {
        var offset = range.lowerBound
        while offset < range.upperBound {
          let n = min(scratch.count, range.upperBound - offset) / width
          guard n > 0, next + n <= count else {
            throw ONNXSourceFailure(reason: "an element field is not whole elements")
          }
          try source.copy(
            from: offset, into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<(n * width)]))
          for i in 0..<n {
            buffer[next + i] = convert(
              Bits(littleEndian: scratch.loadUnaligned(fromByteOffset: i * width, as: Bits.self)))
          }
          next += n
          offset += n * width
        }
      }
      guard next == count else {
        throw ONNXSourceFailure(reason: "element fields hold fewer elements than they did")
      }
    }
  }

  /// An array of `count` elements converted from the varints in `ranges` of
  /// `source` (read as swift-protobuf reads them: at most ten bytes, the
  /// bits past 64 dropped).
  private static func varints<Element>(
    count: Int, from ranges: [Range<Int>], in source: any ONNXByteSource,
    _ convert: (UInt64) -> Element
  ) throws(ONNXSourceFailure) -> [Element] {
    let changed = ONNXSourceFailure(reason: "the file changed while it was read")
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: piece, alignment: 16)
    defer { bytes.deallocate() }
    return try filled(Element.self, count: count) { (buffer) throws(ONNXSourceFailure) in
      var next = 0
      var value: UInt64 = 0
      var shift: UInt64 = 0
      for range in ranges {
        var offset = range.lowerBound
        while offset < range.upperBound {
          let n = min(bytes.count, range.upperBound - offset)
          try source.copy(from: offset, into: UnsafeMutableRawBufferPointer(rebasing: bytes[..<n]))
          for c in bytes[..<n] {
            guard shift <= 63 else { throw changed }
            value |= UInt64(c & 0x7F) &<< shift
            shift += 7
            if c & 0x80 == 0 {
              guard next < count else { throw changed }
              buffer[next] = convert(value)
              next += 1
              value = 0
              shift = 0
            }
          }
          offset += n
        }
        // A range holds whole varints: the scanner read each.
        guard shift == 0 else { throw changed }
      }
      guard next == count else { throw changed }
    }
  }

  /// A new array of `count` elements that `fill` initializes in full
  /// unless it throws.
  private static func filled<Element>(
    _: Element.Type, count: Int,
    _ fill: (UnsafeMutableBufferPointer<Element>) throws(ONNXSourceFailure) -> Void
  ) throws(ONNXSourceFailure) -> [Element] {
    var failure: ONNXSourceFailure?
    let array = [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
      do throws(ONNXSourceFailure) {
        try fill(UnsafeMutableBufferPointer(rebasing: buffer[..<count]))
        initialized = count
      } catch {
        failure = error
        initialized = 0
      }
    }
    if let failure { throw failure }
    return array
  }
}

extension ONNXTensorPayload {
  /// The number of elements the typed field for `type` holds.
  func typedCount(for type: ONNXDataType) -> Int {
    switch type {
    case .float: return floatCount
    case .float16, .int32: return int32Count
    case .double: return doubleCount
    default: return int64Count
    }
  }
}
