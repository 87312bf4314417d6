/// The file formats convviz reads and writes.
public enum ImageFormat: String, Sendable, CaseIterable {
  /// `pnm`: Netpbm's PBM, PGM and PPM (read all; written as PGM or PPM).
  case png, jpeg, pnm

  /// The name used in messages: "PNG", "JPEG", "PNM".
  public var name: String {
    switch self {
    case .png: return "PNG"
    case .jpeg: return "JPEG"
    case .pnm: return "PNM"
    }
  }

  /// The extension convviz gives files of this format when it names them.
  public var fileExtension: String {
    switch self {
    case .png: return "png"
    case .jpeg: return "jpg"
    case .pnm: return "pnm"
    }
  }

  /// The extensions (lowercase) that mark a file in a folder as an image to
  /// read. The format itself always comes from the file's bytes.
  public static let readableExtensions: Set<String> = [
    "png", "jpg", "jpeg", "pnm", "pbm", "pgm", "ppm",
  ]

  /// The format a destination path asks for by its extension (`.png`, `.jpg`,
  /// `.jpeg`, `.pnm`, `.pgm`, `.ppm`, any case), or nil for any other
  /// extension or none. (`.pgm` and `.ppm` alike hold a gray image as PGM
  /// and a colour one as PPM, as Pillow and Netpbm's `pnmtopnm` write.)
  public init?(pathExtensionOf path: String) {
    let file = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
    guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return nil }
    switch file[file.index(after: dot)...].lowercased() {
    case "png": self = .png
    case "jpg", "jpeg": self = .jpeg
    case "pnm", "pgm", "ppm": self = .pnm
    default: return nil
    }
  }
}
