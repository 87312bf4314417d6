import ArgumentParser
import ImageFilters
import ImageCodecs
import Tensors

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

  @Flag(
    help: ArgumentHelp(
      "Decode JPEGs with corrupt data (filling what is missing) with a warning, "
        + "instead of refusing them."))
  var lenient = false

  @Option(
    name: .customLong("jpeg-upsampling"),
    help: ArgumentHelp(
      "How JPEG colour stored at half resolution is upsampled: fancy (libjpeg's default, the "
        + "pixels djpeg, Pillow and OpenCV decode) or fast (djpeg -nosmooth: faster, blockier "
        + "colour edges).", valueName: "mode"))
  var jpegUpsampling: JPEGUpsampling = .fancy

  @Option(
    name: .customLong("jpeg-dct"),
    help: ArgumentHelp(
      "The DCT of JPEG decoding (and of JPEG outputs): int (accurate integer, libjpeg's "
        + "default), fast (less accurate) or float, as djpeg/cjpeg -dct.", valueName: "method"))
  var jpegDCT: JPEGDCT = .int

  func validate() throws {
    if maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1") }
  }

  var decodeOptions: DecodeOptions {
    var options = DecodeOptions.default
    options.pixelLimit = maxPixels
    options.appliesEXIFOrientation = !keepOrientation
    options.lenient = lenient
    options.jpegUpsampling = jpegUpsampling
    options.jpegDCT = jpegDCT
    return options
  }

  /// Reads the image at `path`, warning about damaged data `--lenient` accepted.
  func read(_ path: String) throws -> Image {
    try ImageFile.read(path, options: decodeOptions) { Terminal.warn($0.description) }
  }
}

extension JPEGUpsampling: ExpressibleByArgument {}
extension JPEGDCT: ExpressibleByArgument {}

/// `--padding valid|same|N` (N pixels on every side).
extension Padding: ExpressibleByArgument {
  public init?(argument: String) {
    guard let padding = try? Self.parse(argument) else { return nil }
    self = padding
  }

  /// The option's value, with a message that says what is wrong with it.
  @Sendable static func parse(_ argument: String) throws -> Padding {
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
      return .symmetric(n)
    }
  }

  public static var allValueStrings: [String] { ["valid", "same", "N"] }
  public var defaultValueDescription: String { description }
}

extension Border: ExpressibleByArgument {}
extension RangeMode: ExpressibleByArgument {}
extension ImageFormat: ExpressibleByArgument {}
