#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The few file-system queries the loaders need, on plain POSIX calls.
enum FileSystem {
  static func join(_ folder: String, _ name: String) -> String {
    folder.hasSuffix("/") ? folder + name : folder + "/" + name
  }

  static func isFile(_ path: String) -> Bool { mode(path) == S_IFREG }
  static func isDirectory(_ path: String) -> Bool { mode(path) == S_IFDIR }

  /// Names in `folder`, sorted by byte value, without hidden entries.
  static func contents(of folder: String) throws(DatasetError) -> [String] {
    guard let dir = opendir(folder) else {
      throw .unreadable(path: folder, reason: String(cString: strerror(errno)))
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
      let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
        pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if !name.hasPrefix(".") { names.append(name) }
    }
    return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
  }

  /// The file type bits of `path` after following links, or nil if absent.
  private static func mode(_ path: String) -> mode_t? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mode & S_IFMT
  }
}
