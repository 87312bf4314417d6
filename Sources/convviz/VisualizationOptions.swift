import ArgumentParser
import Engine
import ModelFormats
import Training
import Foundation
import Visualization

extension ColorMap: ExpressibleByArgument {}
extension ChannelView: ExpressibleByArgument {}
extension TileLabels: ExpressibleByArgument {}

extension Normalization: ExpressibleByArgument {
  public init?(argument: String) { self.init(parsing: argument) }
  public static var allValueStrings: [String] { ["each", "global", "fixed:LO,HI"] }
  public var defaultValueDescription: String { description }
}

/// `--max-width`, for the commands that draw grids of filters or maps.
struct PictureWidthOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Widest picture in pixels: a large grid gets smaller tiles (down to one pixel per "
        + "weight, maps down to 8 px).", valueName: "px"))
  var maxWidth = Grid.defaultMaxWidth

  func validate() throws {
    if maxWidth < 64 { throw ValidationError("--max-width must be at least 64") }
  }
}

/// A failure of the work (exit status 1), not of the command line.
struct VisualizationCommandError: Error, CustomStringConvertible {
  var description: String
}

/// Helpers shared by dump-weights, featuremaps and report.
enum VisualizationIO {
  /// Where `convviz train` writes by default.
  static let defaultModelPath = "output/model.bin"

  /// Reads a model file; a missing default model gets a hint to train one.
  static func readModel(_ path: String) throws -> ModelFile {
    if !FileManager.default.fileExists(atPath: path) {
      var message = "\(path): no such model file"
      if path == defaultModelPath {
        message += "; train one first: convviz train --model mnist-cnn --data DIR"
      }
      throw VisualizationCommandError(description: message)
    }
    return try ModelFile.read(from: path)
  }

  /// Creates `folder` (and its parents) when missing.
  static func makeFolder(_ folder: String) throws {
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    } catch {
      throw VisualizationCommandError(
        description: "\(folder): cannot create the output folder (\(error.localizedDescription))")
    }
  }

  /// `folder/name`, without a doubled slash.
  static func path(_ folder: String, _ name: String) -> String {
    folder.hasSuffix("/") ? folder + name : folder + "/" + name
  }

  /// The file name of `path` without folder and extension ("photos/cat.jpg" → "cat").
  static func baseName(_ path: String) -> String {
    let file = (path as NSString).lastPathComponent
    let stem = (file as NSString).deletingPathExtension
    return stem.isEmpty ? file : stem
  }
}
