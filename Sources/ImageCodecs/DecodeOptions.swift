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

  public init(pixelLimit: Int = DecodeOptions.defaultPixelLimit,
              appliesEXIFOrientation: Bool = true) {
    precondition(pixelLimit > 0, "pixelLimit must be positive")
    self.pixelLimit = pixelLimit
    self.appliesEXIFOrientation = appliesEXIFOrientation
  }

  public static let `default` = DecodeOptions()
}
