import ArgumentParser
import Files
import ImageCodecs

/// The options `filter` and `pool` share: the inputs, where the outputs go
/// and how they are encoded.
struct ImageBatchOptions: ParsableArguments {
  @Option(
    parsing: .unconditional,
    help: "JPEG quality, 1–100 (default 90); only for JPEG outputs.")
  var quality: Int?

  @Option(
    name: .customLong("png-compression"), parsing: .unconditional,
    help: ArgumentHelp(
      "PNG compression, 0 (stored, fastest) to 9 (smallest, slowest); default 2 (see README).",
      valueName: "level"))
  var pngCompression: Int?

  @Option(
    help: ArgumentHelp(
      "Output encoding (default: png, or the extension of an -o file).", valueName: "format"))
  var format: ImageFormat?

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "Output file when one image file and one operation are given (.png, .jpg, .jpeg, "
        + ".ppm, .pgm or .pnm; - for standard output), else output folder (default: "
        + "output/).", valueName: "path"))
  var output: String?

  @Flag(help: "Also read the images in subfolders of folder inputs (outputs mirror them).")
  var recursive = false

  @Flag(help: "Allow an output to replace one of the input images.")
  var overwriteInput = false

  @Flag(help: "Print the time spent decoding, working and encoding to stderr.")
  var timings = false

  @Option(
    name: .customLong("from-list"),
    help: ArgumentHelp(
      "Also read the inputs named in this file, one a line (- for standard input; blank lines "
        + "are skipped).", valueName: "file"))
  var fromList: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "Process only part K of N of the inputs (K from 1): input i (from 0, in the order given) "
        + "is in part (i mod N) + 1.", valueName: "K/N"),
    transform: Shard.parse)
  var shard: Shard?

  @Flag var errorPolicy: ErrorPolicy = .keepGoing

  @Argument(help: "PNG, JPEG or PNM files, folders of them, or mnist:PATH#INDEX.")
  var inputs: [String] = []

  func validate() throws {
    if inputs.isEmpty && fromList == nil {
      throw ValidationError("give at least one input image, or --from-list")
    }
    if let quality, !(1...100).contains(quality) {
      throw ValidationError("--quality must be between 1 and 100")
    }
    if let pngCompression, !(0...9).contains(pngCompression) {
      throw ValidationError("--png-compression must be between 0 and 9")
    }
    try checkEncoding()
  }

  /// `--format`, the extension of an `-o` file and `--quality` must agree.
  private func checkEncoding() throws {
    var named: ImageFormat?
    if let output, output != "-", !output.hasSuffix("/"), !Path.isDirectory(output) {
      named = ImageFormat(pathExtensionOf: output)
    }
    if let format, let named, format != named {
      throw ValidationError(
        "--format \(format.rawValue) contradicts -o \(output ?? ""), which names a \(named.name) file"
      )
    }
    let encoding = named ?? format ?? .png
    if quality != nil && encoding != .jpeg {
      throw ValidationError(
        "--quality applies to JPEG outputs, and these are \(encoding.name); "
          + "give --format jpeg or a .jpg name, or drop --quality")
    }
    if pngCompression != nil && encoding != .png {
      throw ValidationError(
        "--png-compression applies to PNG outputs, and these are \(encoding.name); "
          + "give --format png or a .png name, or drop --png-compression")
    }
  }

  /// The default zlib level of PNG outputs: Pillow's, a balance of size
  /// and time.
  static let defaultPNGCompression = EncodeOptions.defaultPNGCompressionLevel

  var encodeOptions: EncodeOptions {
    EncodeOptions(
      quality: quality ?? 90,
      pngCompressionLevel: pngCompression ?? Self.defaultPNGCompression)
  }
}
