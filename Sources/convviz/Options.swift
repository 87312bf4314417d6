import ArgumentParser
import ImageFilters
import ImageCodecs
import Tensors

/// Decoding flags shared by every command that reads photos.
struct DecodingOptions: ParsableArguments {
  @Option(
    name: .customLong("max-pixels"),
    help: "Refuse images with more pixels than this (decompression-bomb guard).")
  var maxPixels: Int = DecodeOptions.default.pixelLimit

  @Flag(
    name: .customLong("keep-orientation"),
    help: "Keep the stored orientation instead of applying the EXIF rotation (JPEG, PNG eXIf).")
  var keepOrientation = false

  func validate() throws {
    if maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1") }
  }

  var decodeOptions: DecodeOptions {
    var options = DecodeOptions.default
    options.pixelLimit = maxPixels
    options.appliesEXIFOrientation = !keepOrientation
    return options
  }
}

/// `--padding valid|same|N` (N pixels on every side).
extension Padding: ExpressibleByArgument {
  public init?(argument: String) {
    switch argument {
    case "valid": self = .valid
    case "same": self = .same
    default:
      guard let n = Int(argument), n >= 0 else { return nil }
      self = .symmetric(n)
    }
  }

  public static var allValueStrings: [String] { ["valid", "same", "N"] }
  public var defaultValueDescription: String { description }
}

extension Border: ExpressibleByArgument {}
extension RangeMode: ExpressibleByArgument {}

/// The image format of outputs written into a folder.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case png, jpeg

  var fileExtension: String { self == .png ? "png" : "jpg" }
  var imageFormat: ImageFormat { self == .png ? .png : .jpeg }
}
