import ArgumentParser
import Files
import Foundation
import ImageCodecs

/// Where each of `filter`'s outputs goes, decided before any work by
/// `OutputRule`: one image (one input file, not a folder, and one kernel) →
/// `-o` is the file (or `-` for stdout); otherwise `-o` is the folder
/// (default `output/`) holding `<subfolder>/<input-stem>-<kernel-and-options>.<ext>`.
struct OutputPlan: Sendable {
  enum Target: Sendable, Equatable {
    case file(String)
    case standardOutput
    case folder(String)
  }

  let target: Target
  /// The encoding of every output (a single file's by its extension).
  let format: ImageFormat
  /// `destinations[source][operation]`: a path, or "-" for stdout.
  let destinations: [[String]]

  /// `single`: the command line names one image file and one kernel (a
  /// folder input means a folder output, however many images it holds).
  init(
    output: String?, format requested: ImageFormat?, sources: [InputImage],
    operationNames: [String],
    single: Bool
  ) throws {
    let count = sources.count * operationNames.count
    let what =
      count == 1
      ? "the images of a folder"
      : "\(plural(count, "image")) (\(plural(sources.count, "input")) × "
        + "\(plural(operationNames.count, "kernel")))"
    if output == "-" {
      guard single else {
        throw ValidationError(
          "-o - writes one image to standard output, but this run writes \(what)")
      }
      target = .standardOutput
      format = requested ?? .png
    } else if let output, single, !output.hasSuffix("/"), !Path.isDirectory(output) {
      guard let byExtension = ImageFormat(pathExtensionOf: output) else {
        throw ValidationError(
          "-o \(output): one image is written, so -o names the file; end it in .png, .jpg, "
            + ".jpeg, .ppm, .pgm or .pnm, or end it with / to name a folder")
      }
      target = .file(output)
      format = byExtension
    } else {
      if let output, !output.hasSuffix("/"), !Path.isDirectory(output),
        ImageFormat(pathExtensionOf: output) != nil
      {
        throw ValidationError(
          "-o \(output) names a file, but this run writes \(what); give a folder")
      }
      target = .folder(output ?? "output")
      format = requested ?? .png
    }
    destinations = Self.paths(
      target: target, format: format, sources: sources, operationNames: operationNames)
    var seen: [String: Int] = [:]
    for (i, row) in destinations.enumerated() {
      for path in row where path != "-" {
        if let earlier = seen[path] {
          throw ValidationError(
            "\(sources[earlier].path) and \(sources[i].path) would both write \(path); "
              + "give the kernels or inputs different names")
        }
        seen[path] = i
      }
    }
  }

  /// Stems that occur more than once in the same subfolder get the input's
  /// position appended, so that `a/x.png` and `b/x.png` do not overwrite
  /// each other.
  private static func paths(
    target: Target, format: ImageFormat, sources: [InputImage], operationNames: [String]
  ) -> [[String]] {
    switch target {
    case .standardOutput: return [["-"]]
    case .file(let path): return [[path]]
    case .folder(let folder):
      var counts: [String: Int] = [:]
      for source in sources { counts[Path.join(source.subfolder, source.stem), default: 0] += 1 }
      return sources.enumerated().map { index, source in
        let key = Path.join(source.subfolder, source.stem)
        let stem = counts[key]! > 1 ? "\(source.stem)-\(index + 1)" : source.stem
        let place = Path.join(folder, source.subfolder)
        return operationNames.map {
          Path.join(place, "\(stem)-\($0).\(format.fileExtension)")
        }
      }
    }
  }

  private init(target: Target, format: ImageFormat, destinations: [[String]]) {
    self.target = target
    self.format = format
    self.destinations = destinations
  }

  /// The plan of the sources at `positions` only (`--shard`), in that order:
  /// their names are those of the whole plan, so every shard names its
  /// outputs as one run over the whole list would.
  func selecting(_ positions: [Int]) -> OutputPlan {
    OutputPlan(target: target, format: format, destinations: positions.map { destinations[$0] })
  }

  /// Every destination file, for the collision check.
  var files: [String] { destinations.joined().filter { $0 != "-" } }

  /// Creates the output folder (with the inputs' subfolders) or the single
  /// file's folder.
  func prepare() throws {
    for folder in Set(files.map { ($0 as NSString).deletingLastPathComponent }).sorted()
    where !folder.isEmpty {
      try Folder.create(folder)
    }
  }
}
