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
    var bytes: [UInt8] = []
    // Regular files come in one read of their size; pipes and devices grow.
    var chunk = max(Int(status.st_size), 1 << 16)
    while true {
      let start = bytes.count
      var failure: Int32 = 0
      var got = 0
      bytes.append(contentsOf: repeatElement(0, count: chunk))
      bytes.withUnsafeMutableBytes { raw in
        while got < chunk {
          let n = Glibc.read(fd, raw.baseAddress! + start + got, chunk - got)
          if n < 0 {
            if errno == EINTR { continue }
            failure = errno
            return
          }
          if n == 0 { return }
          got += n
        }
      }
      if failure != 0 { throw .unreadable(path, reason: String(cString: strerror(failure))) }
      bytes.removeLast(chunk - got)
      if got < chunk { break }
      chunk = 1 << 16
    }
    if bytes.isEmpty { throw .emptyFile(path) }
    return bytes
  }
}
