import ImageCodecs

/// Writing the pictures this module makes.
public enum PictureFile {
  /// Writes `image` atomically as PNG (or JPEG, by `path`'s extension).
  public static func write(_ image: Image, to path: String) throws(VisualizationError) {
    do {
      try ImageFile.write(image, to: path)
    } catch {
      throw .codec(error)
    }
  }

  /// The PNG encoding of `image`, for embedding in a page.
  public static func png(_ image: Image) throws(VisualizationError) -> [UInt8] {
    do {
      return try ImageFile.encode(image, as: .png)
    } catch {
      throw .codec(error)
    }
  }
}
