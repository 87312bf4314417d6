/// Why an image could not be read, decoded, encoded or written.
///
/// Every case that concerns a file carries its path (or the name given to
/// `ImageFile.decode`), and `description` is one line that starts with it:
/// "photo.png: PNG is corrupt: IHDR: CRC error".
public enum CodecError: Error, Equatable, CustomStringConvertible {
  case fileNotFound(String)
  case isDirectory(String)
  case unreadable(String, reason: String)
  case emptyFile(String)
  /// The bytes are neither PNG nor JPEG.
  case unknownFormat(String)
  /// The library rejected the data; `message` is its explanation.
  case corrupt(String, ImageFormat, message: String)
  /// The data ends before the image is complete.
  case truncated(String, ImageFormat)
  /// The header declares more pixels than `DecodeOptions.pixelLimit`.
  case tooManyPixels(String, width: Int, height: Int, limit: Int)
  /// Valid data that this build cannot decode, such as a 12-bit JPEG.
  case unsupported(String, message: String)
  case outOfMemory(String)
  /// The destination's extension names no format convviz writes.
  case unsupportedExtension(String)
  /// JPEG quality outside 1...100.
  case invalidQuality(Int)
  /// The encoder failed before any file was touched.
  case encodeFailed(ImageFormat, message: String)
  /// The encoded image could not be stored; the destination is unchanged.
  case writeFailed(String, reason: String)

  public var description: String {
    switch self {
    case .fileNotFound(let path):
      return "\(path): no such file"
    case .isDirectory(let path):
      return "\(path): is a directory, not an image file"
    case .unreadable(let path, let reason):
      return "\(path): cannot read file: \(reason)"
    case .emptyFile(let path):
      return "\(path): file is empty"
    case .unknownFormat(let path):
      return "\(path): not a PNG or JPEG file (unrecognized content)"
    case .corrupt(let path, let format, let message):
      return "\(path): \(format.name) is corrupt: \(message)"
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
      return "\(path): unknown image extension; use .png, .jpg or .jpeg"
    case .invalidQuality(let quality):
      return "JPEG quality \(quality) is out of range; use 1...100"
    case .encodeFailed(let format, let message):
      return "cannot encode \(format.name): \(message)"
    case .writeFailed(let path, let reason):
      return "\(path): cannot write image: \(reason)"
    }
  }
}
