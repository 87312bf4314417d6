/// How `ImageFile` encodes.
public struct EncodeOptions: Sendable, Equatable {
  /// JPEG quality, 1...100 (libjpeg's scale; 90 is the default).
  public var quality: Int
  /// PNG compression, 0 (stored) ... 9 (smallest, slowest); what each level
  /// means (zlib level, strategy, row filters) is documented in the README.
  public var pngCompressionLevel: Int
  /// JPEG: the forward DCT (accurate integer by default, as libjpeg).
  public var jpegDCT: JPEGDCT = .int

  /// The PNG level convviz uses unless told otherwise: each row's filter by
  /// an estimate of its coded size, convviz's own deflate of literals and
  /// runs, bands in parallel.
  public static let defaultPNGCompressionLevel = 2

  public init(quality: Int = 90, pngCompressionLevel: Int = defaultPNGCompressionLevel) {
    precondition((0...9).contains(pngCompressionLevel), "PNG compression level is 0...9")
    self.quality = quality
    self.pngCompressionLevel = pngCompressionLevel
  }

  public static let `default` = EncodeOptions()
}
