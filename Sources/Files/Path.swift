#if canImport(Glibc)
  import Glibc
#endif

/// Path strings and what they name, on plain POSIX calls (no Foundation).
public enum Path {
  /// `folder/name` without a doubled slash; an empty folder gives `name`.
  public static func join(_ folder: String, _ name: String) -> String {
    folder.isEmpty ? name : folder.hasSuffix("/") ? folder + name : folder + "/" + name
  }

  /// The folder part: "a/b.png" → "a", "b.png" → ".", "/b.png" → "/".
  public static func folder(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let folder = String(path[..<slash])
    return folder.isEmpty ? "/" : folder
  }

  /// The last component: "a/b.png" → "b.png".
  public static func baseName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
  }

  /// What `path` names after following links, or nil when nothing is there
  /// (a dangling link included).
  public static func kind(of path: String) -> FileKind? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return FileKind(mode: info.st_mode)
  }

  /// What `path` names, its size and when its contents last changed, after
  /// following links; nil when nothing is there. What a cache keyed by
  /// files compares to see whether they changed.
  public static func status(of path: String) -> FileStatus? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    return FileStatus(
      kind: FileKind(mode: info.st_mode), size: Int64(info.st_size), modified: modified)
  }

  /// Whether `path` is a regular file, after following links.
  public static func isFile(_ path: String) -> Bool { kind(of: path) == .regular }

  /// Whether `path` is a directory, after following links.
  public static func isDirectory(_ path: String) -> Bool { kind(of: path) == .directory }
}

/// A file's kind, size in bytes and modification time (nanoseconds since
/// 1970), as `stat` reports them.
public struct FileStatus: Sendable, Hashable {
  public var kind: FileKind
  public var size: Int64
  public var modified: Int64

  public init(kind: FileKind, size: Int64, modified: Int64) {
    self.kind = kind
    self.size = size
    self.modified = modified
  }
}

extension FileKind {
  /// The kind the file type bits of `st_mode` name.
  public init(mode: mode_t) {
    switch mode & S_IFMT {
    case S_IFDIR: self = .directory
    case S_IFCHR: self = .characterDevice
    case S_IFBLK: self = .blockDevice
    case S_IFIFO: self = .fifo
    case S_IFSOCK: self = .socket
    case S_IFLNK: self = .symbolicLink
    default: self = .regular
    }
  }
}

/// The text of the current `errno`, e.g. "Permission denied".
func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
