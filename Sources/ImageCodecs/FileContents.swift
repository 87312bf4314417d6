#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads whole files into memory, with a `CodecError` that names the file.
enum FileContents {
  static func read(_ path: String) throws(CodecError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
      let code = errno
      switch code {
      case ENOENT, ENOTDIR: throw .fileNotFound(path)
      case EISDIR: throw .isDirectory(path)
      default: throw .unreadable(path, reason: String(cString: strerror(code)))
      }
    }
    defer { close(fd) }
    var status = stat()
    guard fstat(fd, &status) == 0 else {
      throw .unreadable(path, reason: String(cString: strerror(errno)))
    }
    // Linux lets open() succeed on a directory; read() then fails with EISDIR.
    if status.st_mode & S_IFMT == S_IFDIR { throw .isDirectory(path) }
    // Regular files come in one read of their size; pipes and devices (and
    // files that grow meanwhile) continue in chunks until end of file.
    let expected = max(Int(status.st_size), 1)
    var bytes = try readChunk(fd, path: path, capacity: expected)
    if bytes.count == expected {
      while true {
        let chunk = try readChunk(fd, path: path, capacity: 1 << 16)
        if chunk.isEmpty { break }
        bytes += chunk
      }
    }
    if bytes.isEmpty { throw .emptyFile(path) }
    return bytes
  }

  /// Up to `capacity` bytes, fewer only at end of file.
  private static func readChunk(_ fd: Int32, path: String, capacity: Int)
    throws(CodecError) -> [UInt8]
  {
    var failure: Int32 = 0
    let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
      count = 0
      while count < capacity {
        let n = Glibc.read(fd, buffer.baseAddress! + count, capacity - count)
        if n < 0 {
          if errno == EINTR { continue }
          failure = errno
          return
        }
        if n == 0 { return }
        count += n
      }
    }
    if failure != 0 { throw .unreadable(path, reason: String(cString: strerror(failure))) }
    return bytes
  }
}
