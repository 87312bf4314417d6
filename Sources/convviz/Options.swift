import ArgumentParser
import ImageFilters
import ImageCodecs

/// Decoding flags shared by every command that reads photos.
struct DecodingOptions: ParsableArguments {
  @Option(
    name: .customLong("max-pixels"), parsing: .unconditional,
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

/// `--padding valid|same|N`.
enum PaddingChoice: ExpressibleByArgument, Equatable, Sendable {
  case valid, same
  case pixels(Int)

  init?(argument: String) {
    guard let choice = try? Self.parse(argument) else { return nil }
    self = choice
  }

  /// The option's value, with a message that says what is wrong with it.
  @Sendable static func parse(_ argument: String) throws -> PaddingChoice {
    switch argument {
    case "valid": return .valid
    case "same": return .same
    default:
      guard let n = Int(argument) else {
        throw ValidationError("give valid, same or a number of pixels")
      }
      guard n >= 0 else {
        throw ValidationError("padding cannot be negative; give valid, same or 0 or more pixels")
      }
      return .pixels(n)
    }
  }

  static var allValueStrings: [String] { ["valid", "same", "N"] }
  var defaultValueDescription: String {
    switch self {
    case .valid: return "valid"
    case .same: return "same"
    case .pixels(let n): return String(n)
    }
  }

  var padding: Padding {
    switch self {
    case .valid: return .valid
    case .same: return .same
    case .pixels(let n): return .symmetric(n)
    }
  }
}

extension Border: ExpressibleByArgument {}
extension RangeMode: ExpressibleByArgument {}
extension ImageFormat: ExpressibleByArgument {}
