import Engine
import Tensors

/// Appends little-endian fields to a growing byte array (model files).
struct ByteWriter {
  var bytes: [UInt8] = []

  mutating func u8(_ value: UInt8) { bytes.append(value) }

  mutating func u32(_ value: UInt32) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
  }

  mutating func u64(_ value: UInt64) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
  }

  mutating func f32(_ value: Float) { u32(value.bitPattern) }
  mutating func f64(_ value: Double) { u64(value.bitPattern) }

  mutating func string(_ value: String) {
    let utf8 = Array(value.utf8)
    u32(UInt32(utf8.count))
    bytes.append(contentsOf: utf8)
  }

  /// Float32 values, little-endian, without a count.
  mutating func floats(_ values: [Float]) {
    if UInt32(1).littleEndian == 1 {
      values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    } else {
      for value in values { f32(value) }
    }
  }
}

/// Why a field could not be read; ModelFile turns it into a ModelFileError.
struct ByteReaderError: Error {
  var reason: String
}

/// Reads little-endian fields from bytes that nobody vouches for: every
/// length is checked against the bytes that remain before anything is
/// allocated.
struct ByteReader {
  let bytes: [UInt8]
  private(set) var offset: Int
  let end: Int

  init(_ bytes: [UInt8], from start: Int, to end: Int) {
    precondition(0 <= start && start <= end && end <= bytes.count)
    self.bytes = bytes
    self.offset = start
    self.end = end
  }

  var remaining: Int { end - offset }

  private mutating func take(_ count: Int, _ what: String) throws(ByteReaderError) -> Int {
    guard count >= 0, count <= remaining else {
      throw ByteReaderError(reason: "\(what) at byte \(offset) runs past the end")
    }
    defer { offset += count }
    return offset
  }

  mutating func u8(_ what: String) throws(ByteReaderError) -> UInt8 {
    bytes[try take(1, what)]
  }

  mutating func u32(_ what: String) throws(ByteReaderError) -> UInt32 {
    let start = try take(4, what)
    var value: UInt32 = 0
    for i in (0..<4).reversed() { value = value << 8 | UInt32(bytes[start + i]) }
    return value
  }

  mutating func u64(_ what: String) throws(ByteReaderError) -> UInt64 {
    let start = try take(8, what)
    var value: UInt64 = 0
    for i in (0..<8).reversed() { value = value << 8 | UInt64(bytes[start + i]) }
    return value
  }

  mutating func f32(_ what: String) throws(ByteReaderError) -> Float {
    Float(bitPattern: try u32(what))
  }

  mutating func f64(_ what: String) throws(ByteReaderError) -> Double {
    Double(bitPattern: try u64(what))
  }

  /// A count of items that each take at least `minimumSize` bytes, refused
  /// when the remaining bytes cannot hold that many.
  mutating func count(_ what: String, minimumSize: Int = 1) throws(ByteReaderError) -> Int {
    let value = Int(try u32(what))
    guard value <= remaining / max(minimumSize, 1) else {
      throw ByteReaderError(reason: "\(what) \(value) is more than the file can hold")
    }
    return value
  }

  mutating func string(
    _ what: String, maximumLength: Int = 1 << 20
  ) throws(ByteReaderError)
    -> String
  {
    let length = Int(try u32("length of \(what)"))
    guard length <= maximumLength else {
      throw ByteReaderError(reason: "\(what) is \(length) bytes long, at most \(maximumLength)")
    }
    let start = try take(length, what)
    guard let text = String(validating: bytes[start..<start + length], as: UTF8.self) else {
      throw ByteReaderError(reason: "\(what) is not valid UTF-8")
    }
    return text
  }

  /// `count` float32 values.
  mutating func floats(_ count: Int, _ what: String) throws(ByteReaderError) -> [Float] {
    let (size, overflow) = count.multipliedReportingOverflow(by: 4)
    guard !overflow else { throw ByteReaderError(reason: "\(what) is impossibly large") }
    let start = try take(size, what)
    return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      bytes.withUnsafeBytes { raw in
        for i in 0..<count {
          buffer[i] = Float(
            bitPattern: UInt32(
              littleEndian: raw.loadUnaligned(
                fromByteOffset: start + 4 * i, as: UInt32.self)))
        }
      }
      initialized = count
    }
  }

  /// A tensor record: name, dtype, rank, dims, float32 data.
  mutating func tensor() throws(ByteReaderError) -> NamedTensor {
    let name = try string("tensor name", maximumLength: 4096)
    let dtype = try u8("dtype of \(name)")
    guard dtype == NamedTensor.float32Code else {
      throw ByteReaderError(reason: "tensor \(name) has unknown dtype code \(dtype)")
    }
    let rank = Int(try u8("rank of \(name)"))
    guard rank <= 8 else { throw ByteReaderError(reason: "tensor \(name) has rank \(rank)") }
    var dims: [Int] = []
    for _ in 0..<rank { dims.append(Int(try u32("shape of \(name)"))) }
    guard let count = checkedProduct(dims), count <= remaining / 4 else {
      throw ByteReaderError(reason: "tensor \(name) of shape \(Shape(dims)) runs past the end")
    }
    return NamedTensor(
      name: name, tensor: Tensor(shape: Shape(dims), storage: try floats(count, name)))
  }
}

extension ByteWriter {
  mutating func tensor(_ named: NamedTensor) {
    string(named.name)
    u8(NamedTensor.float32Code)
    u8(UInt8(named.tensor.shape.rank))
    for dim in named.tensor.shape.dims { u32(UInt32(dim)) }
    floats(named.tensor.storage)
  }
}
