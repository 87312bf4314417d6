#if canImport(Glibc)
  import Glibc
#endif

/// An advisory lock that one process at a time holds on a file it is going to
/// rewrite, such as a training checkpoint: a second holder is refused with
/// `FileError.locked` instead of both writing and the last one winning.
///
/// The lock is `flock` on a hidden `.NAME.lock` beside the file, not on the
/// file itself: an atomic write renames a new file over the old one, and a
/// lock on the old inode would not stop a second process that opens the new
/// one. The kernel drops the lock when the holder exits, however it exits, so
/// a killed process never leaves a stale lock; `release()` (or deinit) also
/// removes the lock file.
public final class FileLock {
  /// The file the lock protects.
  public let path: String
  /// The lock file beside it.
  public let lockPath: String
  private var fd: Int32

  /// Takes the lock on `path`, whose folder must exist; throws `.locked`
  /// at once when another process holds it.
  public init(protecting path: String) throws(FileError) {
    self.path = path
    lockPath = Path.join(Path.folder(of: path), "." + Path.baseName(of: path) + ".lock")
    fd = -1
    // A holder removes the lock file when it releases; a process that opened
    // that file just before would lock a file no longer in the folder. So
    // after locking, check that the name still leads to the locked file.
    for _ in 0..<100 {
      let candidate = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
      guard candidate >= 0 else { throw .cannotLock(path: path, reason: errnoText()) }
      if flock(candidate, LOCK_EX | LOCK_NB) != 0 {
        let code = errno
        close(candidate)
        if code == EWOULDBLOCK { throw .locked(path: path) }
        throw .cannotLock(path: path, reason: errnoText(code))
      }
      var locked = stat()
      var named = stat()
      if fstat(candidate, &locked) == 0 && stat(lockPath, &named) == 0
        && locked.st_ino == named.st_ino && locked.st_dev == named.st_dev
      {
        fd = candidate
        return
      }
      close(candidate)
    }
    throw .cannotLock(path: path, reason: "the lock file keeps changing")
  }

  /// Removes the lock file and releases the lock; later calls do nothing.
  public func release() {
    guard fd >= 0 else { return }
    // Unlinked while still locked, so no other process can lock it in between.
    unlink(lockPath)
    close(fd)
    fd = -1
  }

  deinit { release() }
}
