/// How `ImageFile` decodes.
public struct DecodeOptions: Sendable, Equatable {
  /// Pillow's `DecompressionBombError` threshold: 2 × 89,478,485 pixels.
  public static let defaultPixelLimit = 178_956_970

  /// The most pixels (width × height) a file may declare. Checked against
  /// the header before the pixel buffer is allocated, so a small file that
  /// claims a huge image is refused cheaply.
  public var pixelLimit: Int
  /// Rotate/flip JPEGs and PNGs as their EXIF orientation tag (0x0112, in a
  /// JPEG's APP1 segment or a PNG's eXIf chunk) says, so the
  /// result is upright; false keeps the stored orientation.
  public var appliesEXIFOrientation: Bool
  /// Accept data the library can decode only by guessing: libjpeg's
  /// corrupt-data warnings ("premature end of data segment", "N extraneous
  /// bytes before marker", a frame with more rows than its data) fill what is
  /// missing with gray. False (the default) makes each of them a
  /// `CodecError.corruptData`; true decodes and reports a `CodecWarning`.
  /// A file that ends before its end-of-image marker stays `.truncated`.
  public var lenient: Bool
  /// When set, an image whose header declares another size (after the EXIF
  /// orientation) is refused with `CodecError.unexpectedSize` before its
  /// pixels are decoded: a data set whose images must all match.
  public var expectedSize: ImageSize?
  /// Where the decoded samples may come from: kept arrays of earlier
  /// images of a batch (see `SampleBuffers`); nil allocates new ones.
  public var buffers: SampleBuffers?
  /// JPEG: how subsampled chroma is upsampled (fancy by default, as libjpeg).
  public var jpegUpsampling: JPEGUpsampling = .fancy
  /// JPEG: the inverse DCT (accurate integer by default, as libjpeg).
  public var jpegDCT: JPEGDCT = .int

  public init(
    pixelLimit: Int = DecodeOptions.defaultPixelLimit,
    appliesEXIFOrientation: Bool = true, lenient: Bool = false,
    expectedSize: ImageSize? = nil
  ) {
    precondition(pixelLimit > 0, "pixelLimit must be positive")
    self.pixelLimit = pixelLimit
    self.appliesEXIFOrientation = appliesEXIFOrientation
    self.lenient = lenient
    self.expectedSize = expectedSize
  }

  public static let `default` = DecodeOptions()

  /// The largest file `ImageFile.read` reads: what an image of `pixelLimit`
  /// pixels can take, 16 bytes a pixel (16-bit RGBA stored uncompressed is
  /// 8; a JPEG of noise at quality 100 stays well under 16), plus 64 MiB for
  /// metadata. Anything larger is refused before it is read.
  public var maximumFileSize: Int {
    let (pixelBytes, overflow) = pixelLimit.multipliedReportingOverflow(by: 16)
    let (total, overflowAgain) = pixelBytes.addingReportingOverflow(64 << 20)
    return overflow || overflowAgain ? Int.max : total
  }
}

/// An image's width and height in pixels.
public struct ImageSize: Sendable, Hashable, CustomStringConvertible {
  public var width: Int
  public var height: Int

  public init(width: Int, height: Int) {
    self.width = width
    self.height = height
  }

  /// "28×28".
  public var description: String { "\(width)×\(height)" }
}

/// Damaged data that a lenient decode accepted (`DecodeOptions.lenient`).
public struct CodecWarning: Sendable, Equatable, CustomStringConvertible {
  public var path: String
  public var format: ImageFormat
  /// The library's first warning, e.g. "Corrupt JPEG data: premature end of
  /// data segment".
  public var message: String
  /// How many warnings the library gave for this image.
  public var count: Int

  public init(path: String, format: ImageFormat, message: String, count: Int) {
    self.path = path
    self.format = format
    self.message = message
    self.count = count
  }

  public var description: String {
    let more = count > 1 ? " (and \(count - 1) more)" : ""
    return "\(path): \(format.name) has corrupt data, decoded anyway: \(message)\(more)"
  }
}
