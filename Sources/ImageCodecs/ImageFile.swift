import Files

/// Reading and writing PNG, JPEG and PNM (Netpbm) files.
///
/// The format of input comes from its bytes, never from its name; the format
/// of output comes from the destination's extension. Reads take only regular
/// files no larger than `DecodeOptions.maximumFileSize` (a device or FIFO
/// such as /dev/zero is refused unread). Writes are atomic (see
/// `AtomicFile`): a failed write leaves the destination as it was, and only
/// a regular file is ever replaced.
///
/// What decoding returns:
/// - PNG: the stored samples. Palette → `.rgb` (`.rgba` with tRNS), tRNS on
///   gray/RGB → an alpha channel, 1/2/4-bit gray scaled to 0...255, 16-bit
///   kept in `samples16`. Gamma, chromaticity, ICC and sBIT chunks are not
///   applied, as in Pillow and pypng. A CRC error in any chunk is an error.
///   An eXIf chunk's orientation is applied as for JPEG.
/// - JPEG: 8-bit `.gray` or `.rgb` (CMYK/YCCK converted), turned upright by
///   its EXIF orientation unless `DecodeOptions.appliesEXIFOrientation` is
///   false. 12-bit files are `.unsupported`; a file that ends early is
///   `.truncated`, and other damaged data `.corruptData` unless
///   `DecodeOptions.lenient` (libjpeg alone would fill both with gray).
/// - PNM: P1...P6 as `PNMCodec` describes (bitmaps to 0/255 gray, gray and
///   RGB at 8 or 16 bits by the header's maxval).
/// - All: the header's width × height is checked against
///   `DecodeOptions.pixelLimit` before any pixel memory is allocated.
public enum ImageFile {
  /// Reads and decodes the image at `path`. In lenient mode, damaged data
  /// that was accepted is reported to `warning`.
  public static func read(
    _ path: String, options: DecodeOptions = .default,
    warning: (CodecWarning) -> Void = { _ in }
  ) throws(CodecError) -> Image {
    let bytes: [UInt8]
    do {
      bytes = try FileContents.read(path, maximumBytes: options.maximumFileSize)
    } catch .tooLarge(_, let size, let limit) {
      throw .fileTooLarge(path, bytes: size, limit: limit)
    } catch {
      throw .file(error)
    }
    return try decode(bytes, name: path, options: options, warning: warning)
  }

  /// Decodes an encoded PNG, JPEG or PNM; `name` is used in error messages.
  public static func decode(
    _ bytes: [UInt8], name: String, options: DecodeOptions = .default,
    warning: (CodecWarning) -> Void = { _ in }
  ) throws(CodecError) -> Image {
    if bytes.isEmpty { throw .emptyFile(name) }
    let result: Result<Image, CodecError> = bytes.withUnsafeBufferPointer { buffer in
      do throws(CodecError) {
        switch sniff(buffer) ?? (looksLikeDamagedPNG(buffer) ? .png : nil) {
        case .png: return .success(try PNGCodec.decode(buffer, path: name, options: options))
        case .jpeg:
          return .success(
            try JPEGCodec.decode(buffer, path: name, options: options, warning: warning))
        case .pnm: return .success(try PNMCodec.decode(buffer, path: name, options: options))
        case nil: return .failure(.unknownFormat(name))
        }
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  /// The format the first bytes announce: the 8-byte PNG signature, or a
  /// JPEG start-of-image marker followed by another marker (FF D8 FF), or a
  /// Netpbm magic number ("P1"..."P6") followed by whitespace.
  public static func sniff(_ bytes: [UInt8]) -> ImageFormat? {
    bytes.withUnsafeBufferPointer { sniff($0) }
  }

  static func sniff(_ bytes: UnsafeBufferPointer<UInt8>) -> ImageFormat? {
    if bytes.count >= 8 && bytes.prefix(8).elementsEqual(PNGCodec.signature) { return .png }
    if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF {
      return .jpeg
    }
    if PNMCodec.isSignature(bytes) { return .pnm }
    return nil
  }

  /// A PNG whose signature was damaged, e.g. by a text-mode transfer that
  /// rewrote line ends, or one flipped bit. libpng then explains what is
  /// wrong, which is more useful than "unknown format".
  static func looksLikeDamagedPNG(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard bytes.count >= 8 else { return false }
    let differing = zip(bytes.prefix(8), PNGCodec.signature).filter { $0 != $1 }.count
    return differing <= 2 || bytes[1...3].elementsEqual([0x50, 0x4E, 0x47])
  }

  /// Encodes `image` as `format`. `quality` (1...100) applies to JPEG only.
  /// JPEG drops alpha and stores 16-bit images at 8 bits; PNM drops alpha and
  /// keeps 16 bits; PNG keeps both.
  public static func encode(
    _ image: Image, as format: ImageFormat, quality: Int = 90
  )
    throws(CodecError) -> [UInt8]
  {
    try encode(image, as: format, options: EncodeOptions(quality: quality))
  }

  /// Encodes `image` as `format` with all encoder settings.
  public static func encode(
    _ image: Image, as format: ImageFormat, options: EncodeOptions
  )
    throws(CodecError) -> [UInt8]
  {
    try encodedBuffer(image, as: format, options: options).array
  }

  /// Encodes `image` and lends the encoded bytes to `body` without copying
  /// them (a large image's file need not exist twice in memory); the
  /// bytes are valid only inside `body`. Throws `CodecError` from encoding,
  /// or what `body` throws.
  public static func withEncoded<Result>(
    _ image: Image, as format: ImageFormat, options: EncodeOptions,
    _ body: (UnsafeRawBufferPointer) throws -> Result
  ) throws -> Result {
    let encoded = try encodedBuffer(image, as: format, options: options)
    return try withExtendedLifetime(encoded) { try body(encoded.bytes) }
  }

  /// Encodes `image` in the format named by `path`'s extension (.png, .jpg,
  /// .jpeg, .pnm, .pgm, .ppm, any case) and writes it atomically.
  public static func write(
    _ image: Image, to path: String, quality: Int = 90
  )
    throws(CodecError)
  {
    try write(image, to: path, options: EncodeOptions(quality: quality))
  }

  /// Writes `image` to `path` with all encoder settings.
  public static func write(
    _ image: Image, to path: String, options: EncodeOptions
  )
    throws(CodecError)
  {
    guard let format = ImageFormat(pathExtensionOf: path) else {
      throw .unsupportedExtension(path)
    }
    let encoded = try encodedBuffer(image, as: format, options: options)
    do {
      try AtomicFile.write(encoded.bytes, to: path)
    } catch {
      throw .file(error)
    }
  }

  private static func encodedBuffer(
    _ image: Image, as format: ImageFormat,
    options: EncodeOptions
  ) throws(CodecError) -> ShimBuffer {
    switch format {
    case .png: return try PNGCodec.encode(image, compressionLevel: options.pngCompressionLevel)
    case .jpeg: return try JPEGCodec.encode(image, quality: options.quality, dct: options.jpegDCT)
    case .pnm: return try PNMCodec.encode(image)
    }
  }
}
