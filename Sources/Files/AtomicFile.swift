#if canImport(Glibc)
  import Glibc
#endif

/// Writes whole files atomically: the bytes go to a temporary file in the
/// destination's folder, are flushed to disk, and the temporary file is then
/// renamed over the destination. Readers see the old file or the new one,
/// never a partial one; on any failure the temporary file is removed and the
/// destination is as it was.
///
/// - An existing destination keeps its permission bits (a 600 checkpoint
///   stays 600) and, where the process may, its owner and group. A new file
///   gets 666 less the umask, as `open` gives any new file.
/// - Only a regular file is ever replaced: a destination that is a device,
///   FIFO, socket or directory is refused before anything is written (as
///   root, `-o /dev/null` would otherwise replace /dev/null). A link to a
///   regular file is followed: its target is replaced and the link stays.
/// - Temporary files are named `.NAME.tmp-PID-XXXXXX`. One left behind by a
///   process that was killed mid-write is removed by the next successful
///   write of the same destination, or by `removeStaleTemporaries(of:)`.
public enum AtomicFile {
  public static func write(_ bytes: [UInt8], to path: String) throws(FileError) {
    let failure: FileError? = bytes.withUnsafeBytes { buffer in
      do throws(FileError) {
        try write(buffer, to: path)
        return nil
      } catch {
        return error
      }
    }
    if let failure { throw failure }
  }

  public static func write(_ text: String, to path: String) throws(FileError) {
    try write(Array(text.utf8), to: path)
  }

  public static func write(_ buffer: UnsafeRawBufferPointer, to path: String) throws(FileError) {
    let stream = try Stream(path)
    try stream.append(buffer)
    try stream.commit()
  }

  /// A file written piece by piece, with the guarantees of `write`: the
  /// pieces go to the temporary file, `commit` renames it over the
  /// destination, and until then the destination is as it was. A stream
  /// released without `commit` (an error on the way) removes its
  /// temporary file. Not for use from several threads at once.
  public final class Stream {
    private let path: String
    private let destination: Destination
    private var fd: Int32
    private let temporary: String

    /// Checks the destination and creates the temporary file beside it.
    public init(_ path: String) throws(FileError) {
      self.path = path
      destination = try Destination(path)
      (fd, temporary) = try createTemporary(beside: destination.target, for: path)
    }

    deinit { discard() }

    /// Appends `buffer` to the temporary file.
    public func append(_ buffer: UnsafeRawBufferPointer) throws(FileError) {
      precondition(fd >= 0, "append after commit or discard")
      var offset = 0
      while offset < buffer.count {
        let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          let failure = FileError.cannotWrite(path: path, reason: errnoText())
          discard()
          throw failure
        }
        offset += n
      }
    }

    /// Gives the file the destination's mode and owner, flushes it to disk
    /// and renames it over the destination.
    public func commit() throws(FileError) {
      precondition(fd >= 0, "commit after commit or discard")
      var failure: FileError?
      if let existing = destination.existing {
        // Owner first: chown clears set-user-ID bits, which fchmod then restores.
        // Only root (or the owner, for the group) may give a file away; a
        // failure here leaves the writer as owner, as any rewrite would.
        _ = fchown(fd, existing.st_uid, existing.st_gid)
        if fchmod(fd, existing.st_mode & 0o7777) != 0 {
          failure = .cannotWrite(path: path, reason: errnoText())
        }
      }
      if failure == nil && fsync(fd) != 0 {
        failure = .cannotWrite(path: path, reason: errnoText())
      }
      if close(fd) != 0 && failure == nil {
        failure = .cannotWrite(path: path, reason: errnoText())
      }
      fd = -1
      if failure == nil && rename(temporary, destination.target) != 0 {
        failure = .cannotReplace(path: path, reason: errnoText())
      }
      if let failure {
        unlink(temporary)
        throw failure
      }
      syncFolder(Path.folder(of: destination.target))
      removeStaleTemporaries(ofTarget: destination.target)
    }

    /// Removes the temporary file; the destination stays as it was.
    public func discard() {
      guard fd >= 0 else { return }
      close(fd)
      fd = -1
      unlink(temporary)
    }
  }

  /// Removes the temporary files that writes of `path` left behind when
  /// their process died (`.NAME.tmp-PID-XXXXXX` beside it, PID no longer
  /// running). Files of live processes, this one included, are kept: they
  /// are writes in progress. Returns the paths removed.
  @discardableResult
  public static func removeStaleTemporaries(of path: String) -> [String] {
    guard let destination = try? Destination(path) else { return [] }
    return removeStaleTemporaries(ofTarget: destination.target)
  }

  // MARK: Implementation

  /// The file a write of `path` replaces, checked before anything is written.
  struct Destination {
    /// Where the temporary file is renamed to: `path`, or the file it links to.
    var target: String
    /// Its status when it exists (a regular file).
    var existing: stat?

    init(_ path: String) throws(FileError) {
      var info = stat()
      guard lstat(path, &info) == 0 else {
        // Nothing there (or the folder is missing: creating the temporary
        // file reports that with the folder's own error).
        target = path
        existing = nil
        return
      }
      target = path
      if FileKind(mode: info.st_mode) == .symbolicLink {
        guard let resolved = realpath(path, nil) else {
          throw .notReplaceable(path: path, kind: .symbolicLink)
        }
        target = String(cString: resolved)
        free(resolved)
        guard stat(target, &info) == 0 else {
          throw .notReplaceable(path: path, kind: .symbolicLink)
        }
      }
      let kind = FileKind(mode: info.st_mode)
      guard kind == .regular else { throw .notReplaceable(path: path, kind: kind) }
      existing = info
    }
  }

  static let temporaryMarker = ".tmp-"

  /// `.NAME.tmp-PID-`: the prefix of this process's temporary files for `target`.
  static func temporaryPrefix(of target: String, pid: Int32) -> String {
    "." + Path.baseName(of: target) + temporaryMarker + "\(pid)-"
  }

  /// Creates `.NAME.tmp-PID-XXXXXX` beside `target` with `O_EXCL`. Mode 666
  /// is narrowed by the umask in the kernel, so the process-wide umask is
  /// never read or changed (that would race with other threads).
  fileprivate static func createTemporary(
    beside target: String, for path: String
  )
    throws(FileError) -> (fd: Int32, path: String)
  {
    let prefix = Path.join(Path.folder(of: target), temporaryPrefix(of: target, pid: getpid()))
    let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<100 {
      let suffix = String((0..<6).map { _ in letters.randomElement(using: &generator)! })
      let candidate = prefix + suffix
      let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
      if fd >= 0 { return (fd, candidate) }
      if errno != EEXIST { throw .cannotCreate(path: path, reason: errnoText()) }
    }
    throw .cannotCreate(path: path, reason: "no unused temporary name")
  }

  /// Flushes the folder's entry for the renamed file, so that the new file,
  /// not the old one, is there after a power cut. Best effort: some file
  /// systems cannot sync a folder, and the data itself is already on disk.
  fileprivate static func syncFolder(_ folder: String) {
    let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    _ = fsync(fd)
    close(fd)
  }

  @discardableResult
  fileprivate static func removeStaleTemporaries(ofTarget target: String) -> [String] {
    let folder = Path.folder(of: target)
    let prefix = "." + Path.baseName(of: target) + temporaryMarker
    guard let names = try? Folder.list(folder, includingHidden: true) else { return [] }
    var removed: [String] = []
    for name in names where name.hasPrefix(prefix) {
      let rest = name.dropFirst(prefix.count)
      guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0,
        rest[rest.index(after: dash)...].count == 6, !isRunning(pid)
      else { continue }
      let path = Path.join(folder, name)
      if unlink(path) == 0 { removed.append(path) }
    }
    return removed
  }

  /// Whether process `pid` exists (signal 0 checks without sending anything;
  /// EPERM means it exists but belongs to someone else).
  private static func isRunning(_ pid: Int32) -> Bool {
    pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
  }
}
