/// Where one initializer's elements lie in the model's bytes, found by
/// `ONNXWireScanner` without reading them.
struct ONNXTensorPayload: Equatable {
  /// The last `raw_data` field's body (protobuf keeps the last value of a
  /// singular field that appears more than once).
  var rawData: Range<Int>?
  /// The bodies of the typed fields, in file order: a packed field's whole
  /// body, or the one element of an unpacked one. `float_data` holds
  /// little-endian fixed32 elements, `double_data` fixed64, `int32_data`
  /// and `int64_data` varints.
  var floatData: [Range<Int>] = []
  var int32Data: [Range<Int>] = []
  var int64Data: [Range<Int>] = []
  var doubleData: [Range<Int>] = []
  /// Element counts of the typed fields, summed over their bodies.
  var floatCount = 0
  var int32Count = 0
  var int64Count = 0
  var doubleCount = 0
}

/// A protobuf wire-format walk of ModelProto → GraphProto → TensorProto
/// that finds each initializer's element fields (`raw_data` and the typed
/// `float_data`, `int32_data`, `int64_data`, `double_data`) and writes the
/// rest of the model, byte for byte, into a much smaller ModelProto for
/// swift-protobuf to decode: the weights are then read once, from where
/// they lie straight into their Float arrays, instead of being copied into
/// the parsed message first.
///
/// The scanner is stricter than swift-protobuf, never looser: it stops
/// (`nil`) on anything on its path that swift-protobuf would refuse or
/// read in a way the scanner does not follow (a truncated or malformed
/// field, a group, a length of 2 GiB or more, a packed body of a size
/// that is not a whole number of elements), and the caller then decodes
/// the whole message with swift-protobuf, which gives the error or the
/// model. An element field with an unexpected wire type is left in the
/// stripped message, where swift-protobuf keeps it as an unknown field, as
/// it does when it reads the whole message.
///
/// Wire format: https://protobuf.dev/programming-guides/encoding/
struct ONNXWireScanner {
  /// The stripped ModelProto and the payloads of the graph's initializers,
  /// in the order swift-protobuf lists them.
  struct Result {
    var stripped: [UInt8]
    var payloads: [ONNXTensorPayload]
  }

  /// Why the scan stopped; the caller falls back to swift-protobuf.
  struct Stop: Error {}

  private var input: WireInput
  private var payloads: [ONNXTensorPayload] = []

  private init(_ source: any ONNXByteSource) {
    input = WireInput(source)
  }

  /// Scans the ModelProto in `source`; nil when the whole message must go
  /// to swift-protobuf instead.
  static func scan(_ source: any ONNXByteSource) -> Result? {
    var scanner = ONNXWireScanner(source)
    do {
      let stripped = try scanner.model(end: source.count)
      return Result(stripped: stripped, payloads: scanner.payloads)
    } catch {
      return nil
    }
  }

  // MARK: Messages

  private static let graphField = 7
  private static let initializerField = 5

  private enum TensorField {
    static let floatData = 4
    static let int32Data = 5
    static let int64Data = 7
    static let rawData = 9
    static let doubleData = 10
  }

  private mutating func model(end: Int) throws(Stop) -> [UInt8] {
    var out: [UInt8] = []
    while input.position < end {
      let start = input.position
      let (field, wire) = try input.tag(end: end)
      if field == Self.graphField, wire == .lengthDelimited {
        let length = try input.length(end: end)
        let graph = try graph(end: input.position + length)
        Self.appendMessage(field: field, graph, to: &out)
      } else {
        try input.skip(wire, end: end)
        try input.append(start..<input.position, to: &out)
      }
    }
    return out
  }

  private mutating func graph(end: Int) throws(Stop) -> [UInt8] {
    var out: [UInt8] = []
    while input.position < end {
      let start = input.position
      let (field, wire) = try input.tag(end: end)
      if field == Self.initializerField, wire == .lengthDelimited {
        let length = try input.length(end: end)
        let tensor = try tensor(end: input.position + length)
        Self.appendMessage(field: field, tensor, to: &out)
      } else {
        try input.skip(wire, end: end)
        try input.append(start..<input.position, to: &out)
      }
    }
    return out
  }

  /// One initializer: its header fields into the returned bytes, its
  /// element fields into `payloads`.
  private mutating func tensor(end: Int) throws(Stop) -> [UInt8] {
    var out: [UInt8] = []
    var payload = ONNXTensorPayload()
    while input.position < end {
      let start = input.position
      let (field, wire) = try input.tag(end: end)
      switch (field, wire) {
      case (TensorField.rawData, .lengthDelimited):
        let length = try input.length(end: end)
        payload.rawData = input.position..<(input.position + length)
        input.position += length
      case (TensorField.floatData, .fixed32), (TensorField.floatData, .lengthDelimited):
        payload.floatCount += try fixedWidthBody(wire, width: 4, end: end, into: &payload.floatData)
      case (TensorField.doubleData, .fixed64), (TensorField.doubleData, .lengthDelimited):
        payload.doubleCount += try fixedWidthBody(
          wire, width: 8, end: end, into: &payload.doubleData)
      case (TensorField.int32Data, .varint), (TensorField.int32Data, .lengthDelimited):
        payload.int32Count += try varintBody(wire, end: end, into: &payload.int32Data)
      case (TensorField.int64Data, .varint), (TensorField.int64Data, .lengthDelimited):
        payload.int64Count += try varintBody(wire, end: end, into: &payload.int64Data)
      default:
        try input.skip(wire, end: end)
        try input.append(start..<input.position, to: &out)
      }
    }
    payloads.append(payload)
    return out
  }

  /// A fixed32 or fixed64 element, or a packed body of them; returns the
  /// element count.
  private mutating func fixedWidthBody(
    _ wire: WireType, width: Int, end: Int, into ranges: inout [Range<Int>]
  ) throws(Stop) -> Int {
    let length = wire == .lengthDelimited ? try input.length(end: end) : width
    // swift-protobuf refuses a packed body of part of an element.
    guard length % width == 0, length <= end - input.position else { throw Stop() }
    if length > 0 { ranges.append(input.position..<(input.position + length)) }
    input.position += length
    return length / width
  }

  /// A varint element, or a packed body of them, each read to check it is
  /// well formed; returns the element count.
  private mutating func varintBody(
    _ wire: WireType, end: Int, into ranges: inout [Range<Int>]
  ) throws(Stop) -> Int {
    let start: Int
    let bodyEnd: Int
    if wire == .lengthDelimited {
      let length = try input.length(end: end)
      start = input.position
      bodyEnd = start + length
    } else {
      start = input.position
      bodyEnd = end
    }
    var count = 0
    while input.position < bodyEnd {
      _ = try input.varint(end: bodyEnd)
      count += 1
      if wire == .varint { break }
    }
    if input.position > start { ranges.append(start..<input.position) }
    return count
  }

  private static func appendMessage(field: Int, _ body: [UInt8], to out: inout [UInt8]) {
    appendVarint(UInt64(field << 3 | Int(WireType.lengthDelimited.rawValue)), to: &out)
    appendVarint(UInt64(body.count), to: &out)
    out += body
  }

  static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
    var value = value
    while value >= 0x80 {
      out.append(UInt8(truncatingIfNeeded: value) | 0x80)
      value >>= 7
    }
    out.append(UInt8(value))
  }
}

/// Protobuf wire types; 3 and 4 (groups) stop the scanner.
enum WireType: UInt8 {
  case varint = 0
  case fixed64 = 1
  case lengthDelimited = 2
  case fixed32 = 5
}

/// A forward reader over an `ONNXByteSource` through a small window, so that
/// a file is read in pieces and the bodies skipped over are never read.
struct WireInput {
  private let source: any ONNXByteSource
  var position = 0
  private var window: [UInt8] = []
  private var windowStart = 0
  private static let windowSize = 1 << 16

  init(_ source: any ONNXByteSource) {
    self.source = source
  }

  /// The byte at `position`, which must be before `end`.
  private mutating func byte(end: Int) throws(ONNXWireScanner.Stop) -> UInt8 {
    guard position < end, position < source.count else { throw ONNXWireScanner.Stop() }
    let offset = position - windowStart
    if offset < 0 || offset >= window.count {
      window = try Self.read(source, position..<min(position + Self.windowSize, source.count))
      windowStart = position
    }
    let value = window[position - windowStart]
    position += 1
    return value
  }

  /// A varint as swift-protobuf reads one: at most ten bytes, the bits
  /// past 64 dropped.
  mutating func varint(end: Int) throws(ONNXWireScanner.Stop) -> UInt64 {
    var value: UInt64 = 0
    var shift: UInt64 = 0
    while shift <= 63 {
      let c = try byte(end: end)
      value |= UInt64(c & 0x7F) &<< shift
      if c & 0x80 == 0 { return value }
      shift += 7
    }
    throw ONNXWireScanner.Stop()
  }

  /// A field's tag: a field number from 1 and a wire type other than a
  /// group's.
  mutating func tag(end: Int) throws(ONNXWireScanner.Stop) -> (field: Int, wire: WireType) {
    let start = position
    let value = try varint(end: end)
    guard position - start <= 5, value <= UInt64(UInt32.max), value >> 3 != 0,
      let wire = WireType(rawValue: UInt8(value & 7))
    else { throw ONNXWireScanner.Stop() }
    return (Int(value >> 3), wire)
  }

  /// A length-delimited field's length, checked to fit before `end` and
  /// below protobuf's 2 GiB limit.
  mutating func length(end: Int) throws(ONNXWireScanner.Stop) -> Int {
    let value = try varint(end: end)
    guard value < 0x7FFF_FFFF, Int(value) <= end - position else { throw ONNXWireScanner.Stop() }
    return Int(value)
  }

  /// Moves past the body of a field of wire type `wire`.
  mutating func skip(_ wire: WireType, end: Int) throws(ONNXWireScanner.Stop) {
    switch wire {
    case .varint: _ = try varint(end: end)
    case .lengthDelimited: position += try length(end: end)
    case .fixed32, .fixed64:
      let width = wire == .fixed32 ? 4 : 8
      guard width <= end - position else { throw ONNXWireScanner.Stop() }
      position += width
    }
  }

  /// Appends the bytes of `range` (already walked over) to `out`.
  mutating func append(_ range: Range<Int>, to out: inout [UInt8]) throws(ONNXWireScanner.Stop) {
    let inWindow = range.clamped(to: windowStart..<(windowStart + window.count))
    if inWindow == range {
      out += window[(range.lowerBound - windowStart)..<(range.upperBound - windowStart)]
      return
    }
    out += try Self.read(source, range)
  }
}

extension WireInput {
  /// The bytes of `range` of `source`.
  fileprivate static func read(
    _ source: any ONNXByteSource, _ range: Range<Int>
  ) throws(ONNXWireScanner.Stop) -> [UInt8] {
    var failed = false
    let bytes = [UInt8](unsafeUninitializedCapacity: range.count) { buffer, count in
      do {
        try source.copy(from: range.lowerBound, into: UnsafeMutableRawBufferPointer(buffer))
        count = range.count
      } catch {
        failed = true
        count = 0
      }
    }
    if failed { throw ONNXWireScanner.Stop() }
    return bytes
  }
}
