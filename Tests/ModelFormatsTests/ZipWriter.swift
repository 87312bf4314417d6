import CZlib

@testable import ModelFormats

/// A zip of stored (uncompressed) entries, for tests that make `.keras`
/// files Keras would not: entries missing, configs edited.
enum ZipWriter {
  static func zip(_ entries: [(name: String, bytes: [UInt8])]) -> [UInt8] {
    func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    func u32(_ v: Int) -> [UInt8] { u16(v & 0xFFFF) + u16(v >> 16 & 0xFFFF) }
    var out: [UInt8] = []
    var directory: [UInt8] = []
    for (name, bytes) in entries {
      let crc = bytes.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, UInt32($0.count))) }
      let nameBytes = Array(name.utf8)
      let common =
        u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(crc) + u32(bytes.count)
        + u32(bytes.count) + u16(nameBytes.count) + u16(0)
      let offset = out.count
      out += [0x50, 0x4B, 0x03, 0x04] + common + nameBytes + bytes
      directory +=
        [0x50, 0x4B, 0x01, 0x02] + u16(20) + common + u16(0) + u16(0) + u16(0) + u32(0)
        + u32(offset) + nameBytes
    }
    let start = out.count
    out += directory
    out +=
      [0x50, 0x4B, 0x05, 0x06] + u16(0) + u16(0) + u16(entries.count) + u16(entries.count)
      + u32(directory.count) + u32(start) + u16(0)
    return out
  }
}
