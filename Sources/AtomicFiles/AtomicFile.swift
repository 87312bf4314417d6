#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be written. The destination is left as it was.
public enum FileWriteError: Error, Equatable, CustomStringConvertible {
  /// The temporary file beside the destination could not be created.
  case cannotCreate(path: String, reason: String)
  /// Writing or flushing the temporary file failed (for example a full disk).
  case cannotWrite(path: String, reason: String)
  /// The finished temporary file could not be renamed onto the destination.
  case cannotRename(path: String, reason: String)

  public var description: String {
    switch self {
    case .cannotCreate(let path, let reason): return "\(path): cannot create file: \(reason)"
    case .cannotWrite(let path, let reason): return "\(path): cannot write file: \(reason)"
    case .cannotRename(let path, let reason): return "\(path): cannot replace file: \(reason)"
    }
  }
}

/// Writes whole files atomically: the bytes go to a temporary file in the
/// destination's folder, are flushed to disk, and the temporary file is then
/// renamed over the destination. Readers see the old file or the new one,
/// never a partial one; on any failure the temporary file is removed.
public enum AtomicFile {
  public static func write(_ bytes: [UInt8], to path: String) throws(FileWriteError) {
    let failure: FileWriteError? = bytes.withUnsafeBytes { buffer in
      do throws(FileWriteError) {
        try write(buffer, to: path)
        return nil
      } catch {
        return error
      }
    }
    if let failure { throw failure }
  }

  public static func write(_ text: String, to path: String) throws(FileWriteError) {
    try write(Array(text.utf8), to: path)
  }

  public static func write(_ buffer: UnsafeRawBufferPointer, to path: String) throws(FileWriteError) {
    var template = Array((folder(of: path) + "/." + baseName(of: path) + ".tmp-XXXXXX").utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    if fd < 0 { throw .cannotCreate(path: path, reason: errnoText()) }
    let tempPath = String(cString: template.map { UInt8(bitPattern: $0) })
    var failure: FileWriteError?
    var offset = 0
    while offset < buffer.count {
      let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
      if n < 0 {
        if errno == EINTR { continue }
        failure = .cannotWrite(path: path, reason: errnoText())
        break
      }
      offset += n
    }
    if failure == nil {
      // mkstemp creates 0600; give the file the usual permissions.
      let mask = umask(0); umask(mask)
      fchmod(fd, 0o666 & ~mask)
      if fsync(fd) != 0 { failure = .cannotWrite(path: path, reason: errnoText()) }
    }
    if close(fd) != 0 && failure == nil { failure = .cannotWrite(path: path, reason: errnoText()) }
    if failure == nil && rename(tempPath, path) != 0 {
      failure = .cannotRename(path: path, reason: errnoText())
    }
    if let failure {
      unlink(tempPath)
      throw failure
    }
  }

  static func folder(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let folder = String(path[..<slash])
    return folder.isEmpty ? "/" : folder
  }

  static func baseName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
  }

  private static func errnoText() -> String { String(cString: strerror(errno)) }
}
