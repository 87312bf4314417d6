import Files

/// Why an image could not be read, decoded, encoded or written.
///
/// Every case that concerns a file carries its path (or the name given to
/// `ImageFile.decode`), and `description` is one line that starts with it:
/// "photo.png: PNG is corrupt: IHDR: CRC error".
public enum CodecError: Error, Equatable, CustomStringConvertible {
  /// The file could not be read or written: missing, not a regular file
  /// (a device or FIFO is never read), unreadable, or an unwritable or
  /// non-regular destination. The destination of a write is unchanged.
  case file(FileError)
  /// The file is larger than any image within `DecodeOptions.pixelLimit`
  /// can be (`DecodeOptions.maximumFileSize`); it was not read.
  case fileTooLarge(String, bytes: Int, limit: Int)
  case emptyFile(String)
  /// The bytes are not PNG, JPEG or PNM.
  case unknownFormat(String)
  /// The library rejected the data; `message` is its explanation.
  case corrupt(String, ImageFormat, message: String)
  /// The library could decode the image only by guessing over damaged data
  /// (libjpeg's "Corrupt JPEG data: …" warnings, which fill what is missing
  /// with gray); `DecodeOptions.lenient` accepts it instead.
  case corruptData(String, ImageFormat, message: String)
  /// The data ends before the image is complete.
  case truncated(String, ImageFormat)
  /// The header declares more pixels than `DecodeOptions.pixelLimit`.
  case tooManyPixels(String, width: Int, height: Int, limit: Int)
  /// The header's size (after the EXIF orientation) differs from
  /// `DecodeOptions.expectedSize`; no pixels were decoded.
  case unexpectedSize(String, width: Int, height: Int, expectedWidth: Int, expectedHeight: Int)
  /// Valid data that this build cannot decode, such as a 12-bit JPEG.
  case unsupported(String, message: String)
  case outOfMemory(String)
  /// The destination's extension names no format convviz writes.
  case unsupportedExtension(String)
  /// JPEG quality outside 1...100.
  case invalidQuality(Int)
  /// The encoder failed before any file was touched.
  case encodeFailed(ImageFormat, message: String)

  public var description: String {
    switch self {
    case .file(let error):
      return error.description
    case .fileTooLarge(let path, let bytes, let limit):
      return "\(path): file is \(bytes) bytes, more than an image within the pixel limit can "
        + "need (\(limit)); raise it with --max-pixels if you trust the file"
    case .emptyFile(let path):
      return "\(path): file is empty"
    case .unknownFormat(let path):
      return "\(path): not a PNG, JPEG or PNM file (unrecognized content)"
    case .corrupt(let path, let format, let message):
      return "\(path): \(format.name) is corrupt: \(message)"
    case .corruptData(let path, let format, let message):
      return "\(path): \(format.name) is corrupt: \(message); --lenient decodes it anyway, "
        + "filling what is missing"
    case .unexpectedSize(let path, let width, let height, let expectedWidth, let expectedHeight):
      return "\(path): image is \(width)×\(height), expected \(expectedWidth)×\(expectedHeight)"
    case .truncated(let path, let format):
      return "\(path): \(format.name) is truncated: the file ends before the image is complete"
    case .tooManyPixels(let path, let width, let height, let limit):
      return "\(path): image is \(width)×\(height) = \(width * height) pixels, more than the "
        + "limit of \(limit); raise it with --max-pixels if you trust the file"
    case .unsupported(let path, let message):
      return "\(path): unsupported image: \(message)"
    case .outOfMemory(let path):
      return "\(path): out of memory while decoding"
    case .unsupportedExtension(let path):
      return "\(path): unknown image extension; use .png, .jpg, .jpeg, .ppm, .pgm or .pnm"
    case .invalidQuality(let quality):
      return "JPEG quality \(quality) is out of range; use 1...100"
    case .encodeFailed(let format, let message):
      return "cannot encode \(format.name): \(message)"
    }
  }
}
