/// Why a file or folder could not be read, written, listed, created or
/// locked. Every case names the path; `description` is one line that starts
/// with it, and `problem` is the same line without the path, for errors of
/// other modules that add their own words ("cannot read model file: …").
public enum FileError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Nothing exists at the path, or a folder on the way is missing.
  case notFound(path: String)
  /// The path names a directory, device, FIFO or socket where a file to read
  /// was expected (an endless stream such as /dev/zero is never read).
  case notRegularFile(path: String, kind: FileKind)
  /// The file is larger than the caller allows; nothing was kept.
  case tooLarge(path: String, bytes: Int, limit: Int)
  /// Opening or reading failed for another reason (permissions, I/O error).
  case cannotRead(path: String, reason: String)
  /// The temporary file beside the destination could not be created.
  case cannotCreate(path: String, reason: String)
  /// Writing or flushing the temporary file failed (for example a full disk).
  case cannotWrite(path: String, reason: String)
  /// The finished temporary file could not be renamed onto the destination.
  case cannotReplace(path: String, reason: String)
  /// The destination exists and is not a regular file (a device, FIFO,
  /// socket, directory or dangling link); it is never replaced.
  case notReplaceable(path: String, kind: FileKind)
  /// The folder could not be read.
  case cannotList(path: String, reason: String)
  /// The folder (or one of its parents) could not be created.
  case cannotCreateFolder(path: String, reason: String)
  /// Another process holds the lock on this file.
  case locked(path: String)
  /// The lock file could not be created or locked.
  case cannotLock(path: String, reason: String)

  /// The path the error is about.
  public var path: String {
    switch self {
    case .notFound(let path), .notRegularFile(let path, _), .tooLarge(let path, _, _),
      .cannotRead(let path, _), .cannotCreate(let path, _), .cannotWrite(let path, _),
      .cannotReplace(let path, _), .notReplaceable(let path, _), .cannotList(let path, _),
      .cannotCreateFolder(let path, _), .locked(let path), .cannotLock(let path, _):
      return path
    }
  }

  /// What went wrong, without the path.
  public var problem: String {
    switch self {
    case .notFound:
      return "no such file"
    case .notRegularFile(_, let kind):
      return "is \(kind), not a regular file"
    case .tooLarge(_, let bytes, let limit):
      return "file is too large: \(bytes) bytes, the limit is \(limit)"
    case .cannotRead(_, let reason):
      return "cannot read file: \(reason)"
    case .cannotCreate(_, let reason):
      return "cannot create file: \(reason)"
    case .cannotWrite(_, let reason):
      return "cannot write file: \(reason)"
    case .cannotReplace(_, let reason):
      return "cannot replace file: \(reason)"
    case .notReplaceable(_, let kind):
      return "is \(kind); only regular files are replaced"
    case .cannotList(_, let reason):
      return "cannot list folder: \(reason)"
    case .cannotCreateFolder(_, let reason):
      return "cannot create folder: \(reason)"
    case .locked:
      return "another process is writing this file (it holds the lock); wait for it to "
        + "finish or choose another output"
    case .cannotLock(_, let reason):
      return "cannot lock file: \(reason)"
    }
  }

  public var description: String { "\(path): \(problem)" }
}

/// What a path names, from the file type bits of `stat`.
public enum FileKind: Sendable, Hashable, CustomStringConvertible {
  case regular, directory, characterDevice, blockDevice, fifo, socket, symbolicLink

  /// With an article, for messages: "a character device".
  public var description: String {
    switch self {
    case .regular: return "a regular file"
    case .directory: return "a directory"
    case .characterDevice: return "a character device"
    case .blockDevice: return "a block device"
    case .fifo: return "a FIFO (named pipe)"
    case .socket: return "a socket"
    case .symbolicLink: return "a symbolic link to nothing"
    }
  }
}
