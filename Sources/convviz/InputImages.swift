import Files
import Datasets
import Foundation
import ImageCodecs

/// One image named on the command line: a PNG/JPEG file, or one image of an
/// IDX file (MNIST format) written `mnist:PATH#INDEX`.
enum InputImage: Equatable {
  /// `subfolder` is where the file sits below the folder argument it was
  /// found in ("" for files named directly), so outputs can mirror it.
  case file(String, subfolder: String = "")
  case idx(path: String, index: Int)

  /// How folders given as inputs are read.
  struct FolderListing {
    /// Descend into subfolders (`filter --recursive`); otherwise each one
    /// skipped is noted, naming the option when `recursiveOption` is set.
    var recursive = false
    var recursiveOption: String?
    /// Recognizes files convviz wrote from another image of the same folder
    /// (`camera-blur.png` beside `camera.png`), skipped with a note so that a
    /// second run does not filter its own outputs again.
    var outputNames: OutputNames?
  }

  /// Expands command-line inputs: files stay, folders give their PNG and
  /// JPEG files (sorted), `mnist:PATH#INDEX` names one IDX image. Every
  /// file or folder left out is noted.
  static func expand(
    _ arguments: [String], listing: FolderListing = FolderListing()
  ) throws
    -> [InputImage]
  {
    var inputs: [InputImage] = []
    for argument in arguments {
      if let idx = try parseIDXReference(argument) {
        inputs.append(idx)
      } else if Path.isDirectory(argument) {
        var visited = Set<String>()
        let found = try images(in: argument, subfolder: "", listing: listing, visited: &visited)
        if found.isEmpty {
          throw CommandFailure("\(argument): folder holds no .png or .jpg files to read")
        }
        inputs += found
      } else {
        inputs.append(.file(argument))
      }
    }
    return inputs
  }

  private static func images(
    in root: String, subfolder: String, listing: FolderListing, visited: inout Set<String>
  ) throws -> [InputImage] {
    let folder = Path.join(root, subfolder)
    // A link back up the tree would list forever.
    guard visited.insert((folder as NSString).resolvingSymlinksInPath).inserted else { return [] }
    let names = try Folder.list(folder)
    let imageNames = names.filter {
      !$0.hasPrefix(".")
        && ImageFormat.readableExtensions.contains(($0 as NSString).pathExtension.lowercased())
    }
    let stems = Dictionary(
      imageNames.map { (OutputPaths.stem(of: $0), $0) }, uniquingKeysWith: { first, _ in first })
    var found: [InputImage] = []
    for name in names where !name.hasPrefix(".") {
      let path = Path.join(folder, name)
      if Path.isDirectory(path) {
        let inner = Path.join(subfolder, name)
        if listing.recursive {
          found += try images(in: root, subfolder: inner, listing: listing, visited: &visited)
        } else {
          let hint = listing.recursiveOption.map { " (\($0) includes subfolders)" } ?? ""
          Terminal.note("skipping folder \(path)\(hint)")
        }
      } else if imageNames.contains(name) {
        if let source = listing.outputNames?.source(of: OutputPaths.stem(of: name), among: stems) {
          Terminal.note(
            "skipping \(path): written by convviz from \(source) (name the file itself to read it)")
        } else {
          found.append(.file(path, subfolder: subfolder))
        }
      }
    }
    return found
  }

  static func parseIDXReference(_ argument: String) throws -> InputImage? {
    for prefix in ["mnist:", "idx:"] where argument.hasPrefix(prefix) {
      let rest = argument.dropFirst(prefix.count)
      guard let hash = rest.lastIndex(of: "#"), let index = Int(rest[rest.index(after: hash)...]),
        index >= 0, hash != rest.startIndex
      else {
        throw CommandFailure(
          "\(argument): expected \(prefix)PATH#INDEX, for example \(prefix)data/mnist/train-images-idx3-ubyte.gz#3"
        )
      }
      return .idx(path: String(rest[..<hash]), index: index)
    }
    return nil
  }

  /// The file this input is read from, for messages.
  var path: String {
    switch self {
    case .file(let path, _): return path
    case .idx(let path, let index): return "\(path)#\(index)"
    }
  }

  /// The file on disk, for checks that outputs do not replace it.
  var file: String {
    switch self {
    case .file(let path, _): return path
    case .idx(let path, _): return path
    }
  }

  /// Where outputs go below the output folder ("" for the folder itself).
  var subfolder: String {
    if case .file(_, let subfolder) = self { return subfolder }
    return ""
  }

  /// The name outputs are derived from: `photo` for `photo.jpg`,
  /// `train-images-3` for image 3 of `train-images-idx3-ubyte.gz`.
  var stem: String {
    switch self {
    case .file(let path, _):
      return ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    case .idx(let path, let index):
      var name = (path as NSString).lastPathComponent
      for suffix in [".gz", "-idx3-ubyte", "-idx1-ubyte", ".idx3-ubyte", ".idx"]
      where name.hasSuffix(suffix) {
        name.removeLast(suffix.count)
      }
      return "\(name)-\(index)"
    }
  }

  func load(options: DecodeOptions) throws -> Image {
    switch self {
    case .file(let path, _):
      return try ImageFile.read(path, options: options) { Terminal.warn($0.description) }
    case .idx(let path, let index):
      return try IDXFile.image(at: index, path: path)
    }
  }
}
