import CZlib

/// The parts of a `.keras` file (Keras 3's format): a zip holding
/// `config.json` (the architecture), `metadata.json` (the Keras version)
/// and `model.weights.h5` (the weights, HDF5), read from memory.
///
/// convviz reads the zip itself (the central directory, then each entry
/// stored or deflated through zlib, checked against its CRC-32) rather than
/// through ZIPFoundation: that library's in-memory archive traps on an
/// offset past the end of the data (found by fuzzing in seconds), and its
/// zlib module's name clashes with convviz's `CZlib`. Every offset and size
/// here is checked against the bytes before it is used; zip64 archives
/// (entries over 4 GiB), encrypted entries and other compression methods
/// are refused by name.
struct KerasArchive {
  /// The local file header signature every non-empty zip starts with.
  static let signature: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
  /// `config.json` and `metadata.json` larger than this are refused.
  static let maximumConfigBytes = 64 << 20

  var config: [UInt8]
  var metadata: [UInt8]?
  var weights: [UInt8]

  /// Whether `prefix`, a file's first bytes, looks like a zip.
  static func looksLikeZip(_ prefix: some Collection<UInt8>) -> Bool {
    prefix.starts(with: signature)
  }

  /// One central directory record.
  struct Entry {
    var name: String
    var flags: Int
    var method: Int
    var crc: UInt32
    var compressedSize: Int
    var size: Int
    var localHeader: Int
  }

  /// Reads the three entries of `bytes`; the weights may be at most
  /// `weightsLimit` bytes.
  init(_ bytes: [UInt8], weightsLimit: Int) throws(KerasProblem) {
    let entries = try Self.directory(bytes)
    var byName: [String: Entry] = [:]
    for entry in entries where byName[entry.name] == nil { byName[entry.name] = entry }
    guard let config = byName["config.json"] else {
      let names = entries.map(\.name).prefix(5).joined(separator: ", ")
      throw .notKerasArchive(
        reason: "a zip without config.json"
          + (names.isEmpty
            ? " (it is empty)" : " (it holds \(names)\(entries.count > 5 ? ", …" : ""))"))
    }
    guard let weights = byName["model.weights.h5"] else {
      if byName["model.weights.npz"] != nil {
        throw .notKerasArchive(
          reason: "weights in model.weights.npz; convviz reads model.weights.h5")
      }
      throw .notKerasArchive(reason: "a zip with config.json but no model.weights.h5")
    }
    self.config = try Self.read(config, in: bytes, limit: Self.maximumConfigBytes)
    self.metadata = try byName["metadata.json"].map { (entry) throws(KerasProblem) in
      try Self.read(entry, in: bytes, limit: Self.maximumConfigBytes)
    }
    self.weights = try Self.read(weights, in: bytes, limit: weightsLimit)
  }

  private static func u16(_ bytes: [UInt8], _ at: Int) -> Int {
    Int(bytes[at]) | Int(bytes[at + 1]) << 8
  }

  private static func u32(_ bytes: [UInt8], _ at: Int) -> Int {
    u16(bytes, at) | u16(bytes, at + 2) << 16
  }

  /// The central directory's records, from the end-of-central-directory
  /// record nearest the end of the file.
  static func directory(_ bytes: [UInt8]) throws(KerasProblem) -> [Entry] {
    func corrupt(_ reason: String) -> KerasProblem { .corruptArchive(reason: reason) }
    let count = bytes.count
    guard count >= 22 else { throw corrupt("shorter than a zip's end record") }
    var end: Int?
    for at in stride(from: count - 22, through: max(0, count - 22 - 0xFFFF), by: -1)
    where u32(bytes, at) == 0x0605_4B50 && at + 22 + u16(bytes, at + 20) <= count {
      end = at
      break
    }
    guard let end else { throw corrupt("no end of central directory (truncated?)") }
    let total = u16(bytes, end + 10)
    let size = u32(bytes, end + 12)
    let offset = u32(bytes, end + 16)
    if total == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
      throw corrupt("a zip64 archive, which convviz does not read")
    }
    guard u16(bytes, end + 4) == 0, u16(bytes, end + 6) == 0, u16(bytes, end + 8) == total else {
      throw corrupt("a multi-part zip")
    }
    guard offset + size <= end else { throw corrupt("central directory past its end record") }
    var entries: [Entry] = []
    var at = offset
    for _ in 0..<total {
      guard at + 46 <= offset + size, u32(bytes, at) == 0x0201_4B50 else {
        throw corrupt("central directory record \(entries.count) is damaged")
      }
      let nameLength = u16(bytes, at + 28)
      let next = at + 46 + nameLength + u16(bytes, at + 30) + u16(bytes, at + 32)
      guard next <= offset + size else {
        throw corrupt("central directory record \(entries.count) is damaged")
      }
      let entry = Entry(
        name: String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self),
        flags: u16(bytes, at + 8), method: u16(bytes, at + 10), crc: UInt32(u32(bytes, at + 16)),
        compressedSize: u32(bytes, at + 20), size: u32(bytes, at + 24),
        localHeader: u32(bytes, at + 42))
      if entry.compressedSize == 0xFFFF_FFFF || entry.size == 0xFFFF_FFFF
        || entry.localHeader == 0xFFFF_FFFF
      {
        throw corrupt("a zip64 archive, which convviz does not read")
      }
      entries.append(entry)
      at = next
    }
    return entries
  }

  /// One entry's bytes, refused past `limit`, inflated when deflated, and
  /// checked against the size and CRC-32 the directory records.
  static func read(_ entry: Entry, in bytes: [UInt8], limit: Int) throws(KerasProblem) -> [UInt8] {
    func corrupt(_ reason: String) -> KerasProblem {
      .corruptArchive(reason: "\(entry.name): \(reason)")
    }
    guard entry.size <= limit else {
      throw .tooLarge(what: entry.name, bytes: entry.size, limit: limit)
    }
    guard entry.flags & 1 == 0 else { throw corrupt("encrypted") }
    // Deflate expands at most 1032:1, so a larger size is a lie, refused
    // before it is allocated.
    guard entry.size <= entry.compressedSize * 1032 + 64 else {
      throw corrupt("claims \(entry.size) bytes from \(entry.compressedSize) compressed bytes")
    }
    let header = entry.localHeader
    guard header + 30 <= bytes.count, u32(bytes, header) == 0x0403_4B50 else {
      throw corrupt("no local header where the directory says")
    }
    let start = header + 30 + u16(bytes, header + 26) + u16(bytes, header + 28)
    guard start + entry.compressedSize <= bytes.count else {
      throw corrupt("data past the end of the file (truncated?)")
    }
    let data = bytes[start..<(start + entry.compressedSize)]
    let content: [UInt8]
    switch entry.method {
    case 0:
      guard entry.compressedSize == entry.size else { throw corrupt("stored sizes disagree") }
      content = Array(data)
    case 8:
      content = try inflate(data, size: entry.size, name: entry.name)
    default:
      throw corrupt("compression method \(entry.method), not stored or deflate")
    }
    let crc = content.withUnsafeBufferPointer {
      UInt32(crc32(0, $0.baseAddress, UInt32($0.count)))
    }
    guard crc == entry.crc else { throw corrupt("CRC-32 does not match (damaged)") }
    return content
  }

  /// Raw deflate data that must inflate to exactly `size` bytes.
  static func inflate(
    _ data: ArraySlice<UInt8>, size: Int, name: String
  ) throws(KerasProblem) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: size)
    var stream = z_stream()
    guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
    else { throw .corruptArchive(reason: "\(name): zlib cannot start") }
    defer { inflateEnd(&stream) }
    // One byte of room past `size`, so that data inflating to more is seen.
    var spare: UInt8 = 0
    var status: Int32 = Z_OK
    var produced = 0
    data.withUnsafeBufferPointer { input in
      stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
      stream.avail_in = UInt32(input.count)
      output.withUnsafeMutableBufferPointer { out in
        stream.next_out = out.baseAddress
        stream.avail_out = UInt32(out.count)
        status = CZlib.inflate(&stream, Z_FINISH)
        produced = out.count - Int(stream.avail_out)
        if status == Z_BUF_ERROR || status == Z_OK, stream.avail_out == 0 {
          withUnsafeMutablePointer(to: &spare) {
            stream.next_out = $0
            stream.avail_out = 1
            status = CZlib.inflate(&stream, Z_FINISH)
            if stream.avail_out == 0 { produced += 1 }
          }
        }
      }
    }
    guard status == Z_STREAM_END, produced == size else {
      throw .corruptArchive(
        reason: "\(name): deflate data is damaged or does not inflate to \(size) bytes")
    }
    return output
  }
}
