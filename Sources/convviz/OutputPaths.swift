import ArgumentParser
import Files
import Foundation

/// The one rule for `-o`, stated once for the README and every `--help`.
enum OutputRule {
  static let text = """
    -o names the file when a command writes one file, and the folder when it writes several \
    (filter, pool: a file for one image file and one kernel); missing folders are created. An existing folder, or a name ending in /, is always a \
    folder (a single file goes into it under its default name). Where one image or page is \
    written (filter, pool, report), -o - writes it to standard output. An output that would \
    replace an input, or another output of the same run, is refused before any work starts.
    """
}

/// Where a command that writes one file writes it.
enum SingleOutput: Equatable {
  case file(String)
  case standardOutput

  /// Reads `-o` by `OutputRule`: `option` nil means `defaultPath`; an
  /// existing folder or a trailing slash means `folder/<defaultPath's name>`;
  /// `-` means standard output where `allowsStandardOutput`.
  init(_ option: String?, defaultPath: String, allowsStandardOutput: Bool = false) throws {
    guard let option else {
      self = .file(defaultPath)
      return
    }
    if option == "-" {
      guard allowsStandardOutput else {
        throw ValidationError("-o - (standard output) is not offered here; give a file")
      }
      self = .standardOutput
    } else if option.hasSuffix("/") || Path.isDirectory(option) {
      self = .file(Path.join(option, OutputPaths.fileName(of: defaultPath)))
    } else {
      self = .file(option)
    }
  }

  /// The file's path, nil for standard output.
  var path: String? {
    if case .file(let path) = self { return path }
    return nil
  }

  /// How messages name it.
  var name: String { path ?? "standard output" }

  /// Creates the folder the file goes into.
  func prepare() throws {
    if let path { try OutputPaths.makeParentFolder(of: path) }
  }
}

/// Folder creation, joining and identity of output paths.
enum OutputPaths {
  static func makeParentFolder(of file: String) throws {
    guard file.contains("/") else { return }
    try Folder.create(Path.folder(of: file))
  }

  /// "photos/cat.jpg" → "cat.jpg".
  static func fileName(of path: String) -> String { Path.baseName(of: path) }

  /// `name` (a layer or weight name, which an imported model may write
  /// `/conv1/Conv`) as part of a file name: `/` and control characters
  /// become `_`, so it never names another folder.
  static func fileNamePart(_ name: String) -> String {
    String(
      name.unicodeScalars.map {
        $0 == "/" || $0.properties.generalCategory == .control ? "_" : Character($0)
      })
  }

  /// "photos/cat.jpg" → "cat"; a name that is all extension stays whole.
  static func stem(of path: String) -> String {
    let file = fileName(of: path)
    let stem = (file as NSString).deletingPathExtension
    return stem.isEmpty ? file : stem
  }
}

/// What names a file for collision checks: its canonical path (symbolic
/// links resolved as far as the path exists, `.` and `..` removed) and, for
/// an existing file, its device and inode, so hard links are caught too.
struct FileIdentity {
  struct Inode: Hashable {
    var device: UInt64
    var inode: UInt64
  }

  let path: String
  let inode: Inode?

  init(_ path: String) {
    let absolute =
      path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    self.path = Self.canonical(Self.lexical(absolute))
    var info = stat()
    inode =
      stat(path, &info) == 0
      ? Inode(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) : nil
  }

  /// `/a/./b/../c` → `/a/c`, without asking the file system.
  private static func lexical(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/") where part != "." {
      if part == ".." { _ = parts.popLast() } else { parts.append(part) }
    }
    return "/" + parts.joined(separator: "/")
  }

  /// The real path of the longest existing prefix, then the rest as written.
  private static func canonical(_ path: String) -> String {
    var head = path
    var tail: [String] = []
    while head != "/" {
      if let real = realPath(head) { return ([real] + tail).joined(separator: "/") }
      tail.insert((head as NSString).lastPathComponent, at: 0)
      head = (head as NSString).deletingLastPathComponent
    }
    return "/" + tail.joined(separator: "/")
  }

  private static func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }
}

/// A file a command reads or writes, with the words that name it in messages.
struct NamedPath {
  var role: String
  var path: String
}

/// Looks files up by either part of their identity.
private struct IdentityIndex {
  private var byPath: [String: NamedPath] = [:]
  private var byInode: [FileIdentity.Inode: NamedPath] = [:]

  func find(_ identity: FileIdentity) -> NamedPath? {
    byPath[identity.path] ?? identity.inode.flatMap { byInode[$0] }
  }

  mutating func insert(_ file: NamedPath, _ identity: FileIdentity) {
    byPath[identity.path] = file
    if let inode = identity.inode { byInode[inode] = file }
  }
}

extension NamedPath {
  /// Refuses, before any work, outputs that are the same file as another
  /// output, and outputs that would replace an input. `inputOverride`
  /// names the flag that allows replacing inputs, where there is one (the
  /// caller leaves the inputs out when it was given).
  static func refuseCollisions(
    outputs: [NamedPath], inputs: [NamedPath], inputOverride: String? = nil
  ) throws {
    var written = IdentityIndex()
    for output in outputs {
      let identity = FileIdentity(output.path)
      if let earlier = written.find(identity) {
        throw ValidationError(
          "\(earlier.role) \(earlier.path) and \(output.role) \(output.path) are the same file; "
            + "give them different names")
      }
      written.insert(output, identity)
    }
    for input in inputs {
      guard let output = written.find(FileIdentity(input.path)) else { continue }
      let remedy = inputOverride.map { "pass \($0) to allow that" } ?? "choose another output"
      throw ValidationError(
        "\(output.role) \(output.path) would replace \(input.role) \(input.path); \(remedy)")
    }
  }
}
