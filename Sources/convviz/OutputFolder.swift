import Foundation

/// Creating the folder an output file goes into, as `mkdir -p` would.
enum OutputFolder {
  static func create(for file: String) throws {
    let folder = (file as NSString).deletingLastPathComponent
    guard !folder.isEmpty else { return }
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    } catch {
      throw CommandFailure("cannot create folder \(folder) for \(file)")
    }
  }
}
