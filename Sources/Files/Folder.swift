#if canImport(Glibc)
  import Glibc
#endif

/// Listing and creating folders.
public enum Folder {
  /// The names in `folder`, sorted by byte value (so the order does not
  /// depend on the locale or the file system), without `.` and `..`, and
  /// without hidden names (starting with a dot) unless `includingHidden`.
  public static func list(
    _ folder: String, includingHidden: Bool = false
  )
    throws(FileError) -> [String]
  {
    guard let dir = opendir(folder) else {
      let code = errno
      if code == ENOENT { throw .notFound(path: folder) }
      throw .cannotList(path: folder, reason: errnoText(code))
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
      let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
        pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if name == "." || name == ".." { continue }
      if includingHidden || !name.hasPrefix(".") { names.append(name) }
    }
    return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
  }

  /// Creates `folder` and any missing parents, as `mkdir -p`; an existing
  /// folder is fine, anything else already there is an error. The error
  /// names the first folder that could not be made.
  public static func create(_ folder: String) throws(FileError) {
    if Path.isDirectory(folder) { return }
    let parent = Path.folder(of: folder)
    if parent != folder && parent != "." && !Path.isDirectory(parent) { try create(parent) }
    // Mode 777 less the umask, as mkdir(1) gives.
    if mkdir(folder, 0o777) != 0 && !(errno == EEXIST && Path.isDirectory(folder)) {
      throw .cannotCreateFolder(path: folder, reason: errnoText())
    }
  }
}
