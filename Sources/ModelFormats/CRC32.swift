/// CRC-32 as zlib and PNG compute it (IEEE 802.3, reflected polynomial
/// 0xEDB88320, initial value and final xor 0xFFFFFFFF), table-driven.
/// CNN does not link zlib, so model files carry their own.
enum CRC32 {
  private static let table: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  /// The checksum of `bytes`; `checksum("123456789".utf8) == 0xCBF43926`.
  static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    table.withUnsafeBufferPointer { table in
      for byte in bytes {
        crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
      }
    }
    return crc ^ 0xFFFF_FFFF
  }

  static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    Array(bytes).withUnsafeBytes { checksum($0) }
  }
}
