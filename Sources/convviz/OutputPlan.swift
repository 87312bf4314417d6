import Foundation
import ImageCodecs

/// Decides where each output goes: `-o FILE` for a single output, otherwise a
/// folder (default `output/`, created when missing) holding
/// `<input-stem>-<kernel>.<ext>`.
struct OutputPlan: Sendable {
  enum Target: Sendable {
    case file(String)
    case folder(String)
  }

  let target: Target
  let folderFormat: OutputFormat
  /// Stems that occur more than once get the input's position appended, so
  /// that `a/x.png` and `b/x.png` do not overwrite each other.
  let repeatedStems: Set<String>

  init(output: String?, sources: [InputImage], operations: [String], format: OutputFormat) throws {
    folderFormat = format
    var seen = Set<String>()
    var repeated = Set<String>()
    for source in sources where !seen.insert(source.stem).inserted { repeated.insert(source.stem) }
    repeatedStems = repeated

    let single = sources.count == 1 && operations.count == 1
    if let output, single, !output.hasSuffix("/"), !Self.isDirectory(output) {
      target = .file(output)
    } else {
      target = .folder(output ?? "output")
    }
    switch target {
    case .folder(let folder):
      try Self.makeFolder(folder)
    case .file(let path):
      let ext = (path as NSString).pathExtension.lowercased()
      guard ["png", "jpg", "jpeg"].contains(ext) else {
        throw CommandFailure("\(path): output must end in .png, .jpg or .jpeg")
      }
    }
    if Set(operations).count != operations.count {
      throw CommandFailure("two kernels would write the same file name: \(operations.joined(separator: ", "))")
    }
  }

  func path(for source: InputImage, operation: String, index: Int) -> String {
    switch target {
    case .file(let path):
      return path
    case .folder(let folder):
      let stem = repeatedStems.contains(source.stem) ? "\(source.stem)-\(index + 1)" : source.stem
      return joinPath(folder, "\(stem)-\(operation).\(folderFormat.fileExtension)")
    }
  }

  func format(of path: String) -> ImageFormat {
    let ext = (path as NSString).pathExtension.lowercased()
    return ext == "png" ? .png : .jpeg
  }

  static func isDirectory(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
  }

  static func makeFolder(_ folder: String) throws {
    if isDirectory(folder) { return }
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    } catch {
      throw CommandFailure("\(folder): cannot create output folder")
    }
  }
}
