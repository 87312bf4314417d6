import Foundation

/// Scratch files for loaders that take paths: one folder per process in
/// /dev/shm (memory-backed), reused for every input.
public enum FuzzScratch {
  public static let folder: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let folder = "\(base)/convviz-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
  }()

  /// Writes `bytes` to `name` inside the scratch folder and returns its path.
  public static func file(_ name: String, _ bytes: UnsafeRawBufferPointer) -> String {
    let path = folder + "/" + name
    let parent = (path as NSString).deletingLastPathComponent
    try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
  }

  public static func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: data, count: size)
  }
}

