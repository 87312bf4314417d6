#if canImport(Glibc)
  import Glibc
#endif

/// Reads whole files into memory, never more than the caller allows.
public enum FileContents {
  /// The bytes of the regular file at `path` (links followed); an empty file
  /// gives `[]`.
  ///
  /// Directories, devices, FIFOs and sockets are refused before a byte is
  /// read: `/dev/zero` or a pipe that never ends must not be read until
  /// memory runs out, and opening a FIFO never waits for a writer. A file
  /// whose size on disk exceeds `maximumBytes` is refused from `fstat`; a
  /// file that reports no size (those in /proc) or grows while being read is
  /// read in chunks and refused as soon as it passes `maximumBytes`.
  public static func read(_ path: String, maximumBytes: Int) throws(FileError) -> [UInt8] {
    let (fd, size) = try open(path, maximumBytes: maximumBytes)
    defer { close(fd) }
    // One read of the size on disk, then chunks until end of file for files
    // that report no size or grow; one byte past the limit proves too much.
    var bytes = try readChunk(fd, path: path, capacity: min(max(size, 1), maximumBytes + 1))
    while bytes.count <= maximumBytes {
      let room = maximumBytes + 1 - bytes.count
      let chunk = try readChunk(fd, path: path, capacity: min(room, 1 << 16))
      if chunk.isEmpty { return bytes }
      bytes += chunk
    }
    throw .tooLarge(path: path, bytes: bytes.count, limit: maximumBytes)
  }

  /// Opens the regular file at `path` for reading with the checks of
  /// `read` (not a directory, device, FIFO or socket; no larger than
  /// `maximumBytes` on disk) and returns the descriptor, which the caller
  /// closes, and the size on disk. For readers that stream the file.
  public static func open(
    _ path: String, maximumBytes: Int
  ) throws(FileError) -> (
    fd: Int32, size: Int
  ) {
    precondition(maximumBytes >= 0, "maximumBytes must not be negative")
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    if fd < 0 {
      let code = errno
      if code == ENOENT || code == ENOTDIR { throw .notFound(path: path) }
      throw .cannotRead(path: path, reason: errnoText(code))
    }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      let failure = FileError.cannotRead(path: path, reason: errnoText())
      close(fd)
      throw failure
    }
    let kind = FileKind(mode: info.st_mode)
    guard kind == .regular else {
      close(fd)
      throw .notRegularFile(path: path, kind: kind)
    }
    let size = Int(info.st_size)
    guard size <= maximumBytes else {
      close(fd)
      throw .tooLarge(path: path, bytes: size, limit: maximumBytes)
    }
    return (fd, size)
  }

  /// Up to `capacity` bytes, fewer only at end of file.
  private static func readChunk(
    _ fd: Int32, path: String, capacity: Int
  )
    throws(FileError) -> [UInt8]
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
    if failure != 0 { throw .cannotRead(path: path, reason: errnoText(failure)) }
    return bytes
  }
}
