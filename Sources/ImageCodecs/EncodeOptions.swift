/// How `ImageFile` encodes.
public struct EncodeOptions: Sendable, Equatable {
  /// JPEG quality, 1...100 (libjpeg's scale; 90 is the default).
  public var quality: Int
  /// zlib level for PNG, 0 (store) ... 9 (smallest, slowest).
  public var pngCompressionLevel: Int

  public init(quality: Int = 90, pngCompressionLevel: Int = 6) {
    precondition((0...9).contains(pngCompressionLevel), "PNG compression level is 0...9")
    self.quality = quality
    self.pngCompressionLevel = pngCompressionLevel
  }

  public static let `default` = EncodeOptions()
}
