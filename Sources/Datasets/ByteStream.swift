import CZlib
import Files

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads a file front to back, inflating it on the fly when it is gzip.
///
/// Gzip is recognised by its magic bytes `1f 8b`, never by the file name, so
/// `train-images-idx3-ubyte` may hold either form. Reads are chunked and
/// buffers grow only as data actually arrives, so a header that promises
/// terabytes cannot make us allocate them.
struct ByteStream: ~Copyable {
  let path: String
  /// Whether the file starts with the gzip magic bytes.
  let isGzip: Bool
  /// The size of the file on disk (compressed size for gzip).
  let fileSize: Int
  /// Bytes delivered so far (decompressed).
  private(set) var position = 0
  private let file: gzFile

  private static let chunkSize = 1 << 20

  init(path: String) throws(DatasetError) {
    var info = stat()
    guard stat(path, &info) == 0 else {
      if errno == ENOENT || errno == ENOTDIR { throw .file(.notFound(path: path)) }
      throw .file(.cannotRead(path: path, reason: String(cString: strerror(errno))))
    }
    // Never a device or FIFO: /dev/zero, say, would inflate forever.
    let kind = FileKind(mode: info.st_mode)
    guard kind == .regular else { throw .file(.notRegularFile(path: path, kind: kind)) }
    guard let raw = fopen(path, "rb") else {
      throw .file(.cannotRead(path: path, reason: String(cString: strerror(errno))))
    }
    var magic: [UInt8] = [0, 0]
    let got = fread(&magic, 1, 2, raw)
    fclose(raw)
    guard let file = gzopen(path, "rb") else {
      throw .file(.cannotRead(path: path, reason: String(cString: strerror(errno))))
    }
    gzbuffer(file, UInt32(1 << 17))
    self.path = path
    self.isGzip = got == 2 && magic == [0x1f, 0x8b]
    self.fileSize = Int(info.st_size)
    self.file = file
  }

  deinit { gzclose(file) }

  /// Reads up to `count` bytes; fewer only at the end of the data.
  ///
  /// Damaged gzip data (including a stream cut short) throws rather than
  /// looking like an early end of file. zlib inflates ahead of what is asked
  /// for, so a stream cut short is reported only when a read reaches the cut:
  /// the bytes before it are sound, and a reader that stops early (`--limit`)
  /// never needs the rest.
  mutating func read(upTo count: Int) throws(DatasetError) -> [UInt8] {
    // Trust the size on disk for raw files; for gzip, grow as data arrives.
    let hint = isGzip ? fileSize * 8 + 4096 : max(fileSize - position, 0)
    var bytes = try readChunk(min(count, max(hint, 1)))
    while bytes.count < count {
      let chunk = try readChunk(min(count - bytes.count, Self.chunkSize))
      if chunk.isEmpty { break }
      bytes += chunk
    }
    return bytes
  }

  /// Reads exactly `count` bytes, or throws `sizeMismatch` naming how much of
  /// the `expectedTotal` bytes that start at offset `totalStart` was present.
  mutating func read(
    exactly count: Int, expectedTotal: Int, totalStart: Int
  ) throws(DatasetError) -> [UInt8] {
    let bytes = try read(upTo: count)
    guard bytes.count == count else {
      throw .sizeMismatch(
        path: path, expectedBytes: expectedTotal, actualBytes: position - totalStart)
    }
    return bytes
  }

  /// Skips `count` bytes; returns how many were actually there.
  mutating func skip(_ count: Int) throws(DatasetError) -> Int {
    var scratch = [UInt8](repeating: 0, count: min(count, Self.chunkSize))
    var skipped = 0
    while skipped < count {
      let want = min(count - skipped, scratch.count)
      let got = scratch.withUnsafeMutableBytes { gzread(file, $0.baseAddress!, UInt32(want)) }
      try checkStreamError(cameShort: got < want)
      guard got > 0 else { break }
      skipped += Int(got)
      position += Int(got)
    }
    return skipped
  }

  /// Reads what is left, for measuring how much data follows the expected end.
  mutating func countRemaining() throws(DatasetError) -> Int {
    try skip(Int.max)
  }

  /// One `gzread` loop into a buffer of `capacity` bytes, stopping early at the end.
  private mutating func readChunk(_ capacity: Int) throws(DatasetError) -> [UInt8] {
    var failed = false
    let file = self.file
    let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
      initialized = 0
      while initialized < capacity {
        let want = UInt32(min(capacity - initialized, Int(Int32.max)))
        let got = gzread(file, buffer.baseAddress! + initialized, want)
        if got < 0 { failed = true }
        if got <= 0 { break }
        initialized += Int(got)
      }
    }
    position += bytes.count
    try checkStreamError(cameShort: bytes.count < capacity)
    if failed { throw .unreadable(path: path, reason: "read failed") }
    return bytes
  }

  /// Throws the stream's error. "Unexpected end of file" (Z_BUF_ERROR) is
  /// zlib's note that its read-ahead met the cut; it matters only to a read
  /// that `cameShort` of what it asked for.
  private func checkStreamError(cameShort: Bool) throws(DatasetError) {
    var code: Int32 = 0
    let message = gzerror(file, &code)
    guard code != Z_OK, code != Z_BUF_ERROR || cameShort else { return }
    let text = message.map { String(cString: $0) } ?? "zlib error \(code)"
    if code == Z_ERRNO {
      throw .unreadable(path: path, reason: String(cString: strerror(errno)))
    }
    throw .corruptGzip(path: path, message: text)
  }
}
