import Datasets
import Foundation
import ImageCodecs

/// One image named on the command line: a PNG/JPEG file, or one image of an
/// IDX file (MNIST format) written `mnist:PATH#INDEX`.
enum InputImage: Equatable {
  case file(String)
  case idx(path: String, index: Int)

  /// Expands command-line inputs: files stay, folders give their PNG and JPEG
  /// files (sorted, not recursive), `mnist:PATH#INDEX` names one IDX image.
  static func expand(_ arguments: [String]) throws -> [InputImage] {
    var inputs: [InputImage] = []
    for argument in arguments {
      if let idx = try parseIDXReference(argument) {
        inputs.append(idx)
        continue
      }
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory),
        isDirectory.boolValue
      {
        let names = try imageNames(inFolder: argument)
        if names.isEmpty {
          throw CommandFailure("\(argument): folder holds no .png or .jpg files")
        }
        inputs += names.map { .file(joinPath(argument, $0)) }
      } else {
        inputs.append(.file(argument))
      }
    }
    return inputs
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

  private static func imageNames(inFolder folder: String) throws -> [String] {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: folder)
    } catch {
      throw CommandFailure("\(folder): cannot list folder")
    }
    let extensions: Set<String> = ["png", "jpg", "jpeg"]
    return names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
  }

  /// The file this input is read from, for messages.
  var path: String {
    switch self {
    case .file(let path): return path
    case .idx(let path, let index): return "\(path)#\(index)"
    }
  }

  /// The name outputs are derived from: `photo` for `photo.jpg`,
  /// `train-images-3` for image 3 of `train-images-idx3-ubyte.gz`.
  var stem: String {
    switch self {
    case .file(let path):
      return ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    case .idx(let path, let index):
      var name = (path as NSString).lastPathComponent
      for suffix in [".gz", "-idx3-ubyte", "-idx1-ubyte", ".idx3-ubyte", ".idx"] where name.hasSuffix(suffix) {
        name.removeLast(suffix.count)
      }
      return "\(name)-\(index)"
    }
  }

  func load(options: DecodeOptions) throws -> Image {
    switch self {
    case .file(let path):
      return try ImageFile.read(path, options: options) { Terminal.warn($0.description) }
    case .idx(let path, let index):
      return try IDXFile.image(at: index, path: path)
    }
  }
}

func joinPath(_ folder: String, _ name: String) -> String {
  folder.hasSuffix("/") ? folder + name : folder + "/" + name
}
