/// The file formats convviz reads and writes.
public enum ImageFormat: String, Sendable, CaseIterable {
  case png, jpeg

  /// The name used in messages: "PNG", "JPEG".
  public var name: String {
    switch self {
    case .png: return "PNG"
    case .jpeg: return "JPEG"
    }
  }

  /// The format a destination path asks for by its extension (`.png`, `.jpg`,
  /// `.jpeg`, any case), or nil for any other extension or none.
  public init?(pathExtensionOf path: String) {
    let file = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
    guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return nil }
    switch file[file.index(after: dot)...].lowercased() {
    case "png": self = .png
    case "jpg", "jpeg": self = .jpeg
    default: return nil
    }
  }
}
