import ArgumentParser
import Foundation

/// The one rule for `-o`, stated once for the README and every `--help`.
enum OutputRule {
  static let text = """
    -o names the file when a command writes one file, and the folder when it writes several; \
    missing folders are created. An existing folder, or a name ending in /, is always a \
    folder (a single file goes into it under its default name). Where one image or page is \
    written (filter, report), -o - writes it to standard output. An output that would \
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
    } else if option.hasSuffix("/") || OutputPaths.isFolder(option) {
      self = .file(OutputPaths.join(option, OutputPaths.fileName(of: defaultPath)))
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
  static func isFolder(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
      && isDirectory.boolValue
  }

  /// Creates `folder` and its parents, as `mkdir -p` would.
  static func makeFolder(_ folder: String) throws {
    if isFolder(folder) { return }
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    } catch {
      throw CommandFailure("\(folder): cannot create the output folder")
    }
  }

  static func makeParentFolder(of file: String) throws {
    let folder = (file as NSString).deletingLastPathComponent
    if !folder.isEmpty { try makeFolder(folder) }
  }

  /// `folder/name`, without a doubled slash.
  static func join(_ folder: String, _ name: String) -> String {
    folder.isEmpty ? name : folder.hasSuffix("/") ? folder + name : folder + "/" + name
  }

  /// "photos/cat.jpg" → "cat.jpg".
  static func fileName(of path: String) -> String { (path as NSString).lastPathComponent }

  /// "photos/cat.jpg" → "cat"; a name that is all extension stays whole.
  static func stem(of path: String) -> String {
    let file = fileName(of: path)
    let stem = (file as NSString).deletingPathExtension
    return stem.isEmpty ? file : stem
  }
}

/// What names a file for collision checks: the device and inode of an
/// existing file (so links and `a/../b` spellings are caught), else its
/// absolute path with the folder's symbolic links resolved.
enum FileIdentity: Hashable {
  case inode(device: UInt64, inode: UInt64)
  case path(String)

  init(_ path: String) {
    var info = stat()
    if stat(path, &info) == 0 {
      self = .inode(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
      return
    }
    let absolute =
      path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    let standardized = (absolute as NSString).standardizingPath
    let folder = (standardized as NSString).deletingLastPathComponent
    let resolved = (folder as NSString).resolvingSymlinksInPath
    self = .path(OutputPaths.join(resolved, OutputPaths.fileName(of: standardized)))
  }
}

/// A file a command reads or writes, with the words that name it in messages.
struct NamedPath {
  var role: String
  var path: String
}

extension NamedPath {
  /// Refuses, before any work, outputs that are the same file as another
  /// output, and outputs that would replace an input. `inputOverride`
  /// names the flag that allows replacing inputs, where there is one (the
  /// caller leaves the inputs out when it was given).
  static func refuseCollisions(
    outputs: [NamedPath], inputs: [NamedPath], inputOverride: String? = nil
  ) throws {
    var seen: [FileIdentity: NamedPath] = [:]
    for output in outputs {
      let identity = FileIdentity(output.path)
      if let earlier = seen[identity] {
        throw ValidationError(
          "\(earlier.role) \(earlier.path) and \(output.role) \(output.path) are the same file; "
            + "give them different names")
      }
      seen[identity] = output
    }
    for input in inputs {
      guard let output = seen[FileIdentity(input.path)] else { continue }
      if let inputOverride {
        throw ValidationError(
          "\(output.role) \(output.path) would replace \(input.role) \(input.path); "
            + "pass \(inputOverride) to allow that")
      }
      throw ValidationError(
        "\(output.role) \(output.path) would replace \(input.role) \(input.path); "
          + "choose another output")
    }
  }
}
