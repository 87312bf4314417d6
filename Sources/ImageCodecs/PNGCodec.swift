import _CodecShims

/// PNG decoding and encoding through the libpng shim.
///
/// Decoded samples are the stored ones: palette entries expand to RGB (RGBA
/// when a tRNS chunk is present), tRNS on gray/RGB becomes an alpha channel,
/// gray below 8 bits scales to 0...255 (1-bit: 0/255), 16-bit stays 16-bit.
/// Gamma chunks (gAMA, cHRM, sRGB, iCCP) and sBIT are not applied, as in
/// Pillow and pypng. Every CRC is checked, ancillary chunks included.
enum PNGCodec {
  static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

  static func decode(
    _ bytes: UnsafeBufferPointer<UInt8>, path: String,
    options: DecodeOptions
  ) throws(CodecError) -> Image {
    // Read from the chunks as they are, before libpng checks them: a bad
    // eXIf chunk is ignored, and fuzzing reaches this parser on every input.
    let orientation = options.appliesEXIFOrientation ? EXIFOrientation(png: bytes) : nil
    var info = cvz_image_info()
    var error = cvz_error()
    guard let decoder = cvz_png_open(bytes.baseAddress, bytes.count, &info, &error) else {
      if error.text == "Not a PNG file" {
        throw .corrupt(path, .png, message: "bad signature: the first 8 bytes are not a PNG's")
      }
      throw CodecError(decoding: error, path: path, format: .png)
    }
    defer { cvz_png_close(decoder) }
    let width = Int(info.width), height = Int(info.height)
    try CodecError.checkSize(
      width: width, height: height, limit: options.pixelLimit, path: path, format: .png)
    try CodecError.checkExpectedSize(
      width: width, height: height, orientation: orientation, options: options, path: path)
    guard let layout = Image.Layout(rawValue: Int(info.channels)) else {
      throw .unsupported(path, message: "PNG decodes to \(info.channels) channels")
    }
    let count = width * height * layout.channels
    let fill = { (pixels: UnsafeMutableRawPointer, size: Int) -> Bool in
      cvz_png_read(decoder, pixels, size, &error) == 0
    }
    let image: Image
    if info.bit_depth == 16 {
      guard
        let samples = decodedSamples(
          UInt16.self, count: count, buffers: options.buffers, fill: fill)
      else {
        throw CodecError(decoding: error, path: path, format: .png)
      }
      image = Image(width: width, height: height, layout: layout, samples16: samples)
    } else {
      guard
        let samples = decodedSamples(
          UInt8.self, count: count, buffers: options.buffers, fill: fill)
      else {
        throw CodecError(decoding: error, path: path, format: .png)
      }
      image = Image(width: width, height: height, layout: layout, samples: samples)
    }
    guard let orientation, orientation != .up else { return image }
    return image.oriented(orientation)
  }

  /// What `--png-compression` level means: the deflate engine and level, the
  /// strategy and the row filters tried.
  ///
  /// - 0: stored, no filter (fastest, largest).
  /// - 1: Up filter, ISA-L's igzip at its level 1.
  /// - 2 (the default): each row's filter of the five chosen by an estimate
  ///   of its Huffman-coded size (the entropy of a sample of its bytes), then
  ///   convviz's own deflate of literals and runs (zlib's `Z_RLE` matches,
  ///   a Huffman table a band): smaller than OpenCV's default on photos,
  ///   noise and edge maps, and than zlib 6 on the last two.
  /// - 3...9: each row's best of the five filters by libpng's measure (the
  ///   smallest sum of absolute signed bytes), zlib 3...9 with `Z_FILTERED`
  ///   (libpng's choice for filtered data); 9 is smallest and slowest.
  struct Settings: Equatable {
    var zlibLevel: Int32
    var strategy: Int32
    var filters: UInt32

    /// Whether ISA-L compresses (the libpng reference encoder cannot).
    var usesIGZIP: Bool { strategy == Int32(CVZ_PNG_STRATEGY_IGZIP) }
    /// Whether convviz's own deflate compresses (the libpng reference
    /// encoder cannot).
    var usesRuns: Bool { strategy == Int32(CVZ_PNG_STRATEGY_RUNS) }

    init(level: Int) {
      let filtered: Int32 = 1, defaultStrategy: Int32 = 0
      switch level {
      case ...0: self.init(zlibLevel: 0, strategy: defaultStrategy, filters: 1)
      case 1:
        self.init(
          zlibLevel: 1, strategy: Int32(CVZ_PNG_STRATEGY_IGZIP),
          filters: UInt32(CVZ_PNG_FILTER_UP))
      case 2:
        self.init(
          zlibLevel: 1, strategy: Int32(CVZ_PNG_STRATEGY_RUNS),
          filters: UInt32(CVZ_PNG_FILTER_ALL))
      default:
        self.init(
          zlibLevel: Int32(min(level, 9)), strategy: filtered, filters: UInt32(CVZ_PNG_FILTER_ALL))
      }
    }

    init(zlibLevel: Int32, strategy: Int32, filters: UInt32) {
      self.zlibLevel = zlibLevel
      self.strategy = strategy
      self.filters = filters
    }
  }

  /// The PNG encoders: bands compressed in parallel (the one convviz uses),
  /// or the single libpng stream it is tested against (zlib only: at the
  /// igzip level it takes zlib level 1 with the same filters, at the default
  /// zlib level 1 with `Z_RLE`, the same matches, and libpng's choice of
  /// filters).
  enum Encoder {
    case bands
    case reference
  }

  /// Encodes at `compressionLevel` (see `Settings`); the default is 2.
  static func encode(
    _ image: Image, compressionLevel: Int = EncodeOptions.defaultPNGCompressionLevel,
    encoder: Encoder = .bands
  ) throws(CodecError) -> ShimBuffer {
    try encode(image, settings: Settings(level: compressionLevel), encoder: encoder)
  }

  /// Encodes with explicit settings (the tests' way to the settings of other
  /// encoders, OpenCV's default among them).
  static func encode(
    _ image: Image, settings: Settings, encoder: Encoder = .bands
  ) throws(CodecError) -> ShimBuffer {
    var settings = settings
    if encoder == .reference && settings.usesIGZIP {
      settings.strategy = 0
    }
    if encoder == .reference && settings.usesRuns {
      settings.strategy = 3  // Z_RLE
    }
    let encode =
      encoder == .bands ? cvz_png_encode_bands : cvz_png_encode
    var buffer = cvz_buffer()
    var error = cvz_error()
    let status: Int32
    if image.bitDepth == .sixteen {
      status = image.samples16.withUnsafeBytes { raw in
        encode(
          raw.baseAddress, UInt32(image.width), UInt32(image.height), Int32(image.channels), 16,
          settings.zlibLevel, settings.strategy, settings.filters, &buffer, &error)
      }
    } else {
      status = image.samples8.withUnsafeBytes { raw in
        encode(
          raw.baseAddress, UInt32(image.width), UInt32(image.height), Int32(image.channels), 8,
          settings.zlibLevel, settings.strategy, settings.filters, &buffer, &error)
      }
    }
    guard status == 0 else { throw .encodeFailed(.png, message: error.text) }
    return ShimBuffer(buffer)
  }
}
