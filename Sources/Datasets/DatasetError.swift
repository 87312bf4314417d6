import Files
import ImageCodecs

/// Everything that can go wrong while reading a data set from disk.
///
/// Every case names the file or folder at fault, so the one-line
/// `description` is enough for a user to find the problem.
public enum DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
  /// A file or folder is missing, not a regular file (a device or FIFO is
  /// never read), or cannot be opened or listed.
  case file(FileError)
  /// The data set folder is unusable as one (a file, or missing), or a read
  /// failed midway.
  case unreadable(path: String, reason: String)
  /// A gzip file whose compressed stream is damaged or cut short.
  case corruptGzip(path: String, message: String)
  /// The first bytes are not an IDX header `00 00 type ndims`.
  case notIDX(path: String, firstBytes: [UInt8])
  /// An IDX element type code that is not defined by the format.
  case unsupportedIDXType(path: String, typeCode: UInt8)
  /// The header's dimensions do not fit in memory arithmetic (overflow).
  case implausibleHeader(path: String, dims: [Int])
  /// The payload is shorter or longer than the header says.
  case sizeMismatch(path: String, expectedBytes: Int, actualBytes: Int)
  /// A file whose dimensions or element type are wrong for its role.
  case unexpectedShape(path: String, found: String, expected: String)
  /// An image index past the end of an IDX file.
  case indexOutOfRange(path: String, index: Int, count: Int)
  /// Image and label files of one split disagree on the number of samples.
  case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
  /// A file that a data set of this format must contain is missing.
  case missingFile(path: String, expected: String)
  /// A CIFAR-10 batch whose length is not a whole number of records.
  case partialRecord(path: String, length: Int, recordSize: Int)
  /// A label byte outside the known classes.
  case labelOutOfRange(path: String, label: Int, classCount: Int)
  /// A folder that holds no class sub-folders.
  case noClasses(path: String)
  /// A class folder that holds no image files.
  case emptyClass(path: String)
  /// A test class folder whose name is not among the training classes.
  case unknownClass(path: String, knownClasses: [String])
  /// An image file that ImageCodecs could not read; its message names the file.
  case imageCodec(CodecError)
  /// An image whose size differs from the rest of the data set.
  case imageSizeMismatch(
    path: String, width: Int, height: Int, expectedWidth: Int,
    expectedHeight: Int)
  /// A folder that matches none of the supported layouts.
  case unknownFormat(path: String)
  /// `skipBad` left out every image of a part of the folder at `path`.
  case nothingReadable(path: String, skipped: Int)
  /// A `--labels` file that cannot be used as class names.
  case invalidClassNames(path: String, reason: String)
  /// A `--labels` file with another number of names than the data has classes.
  case classNameCountMismatch(path: String, names: Int, classes: Int)

  public var description: String {
    switch self {
    case .file(let error):
      return error.description
    case .unreadable(let path, let reason):
      return "\(path): cannot read: \(reason)"
    case .corruptGzip(let path, let message):
      return "\(path): gzip data is damaged (\(message)); download the file again"
    case .notIDX(let path, let firstBytes):
      let hex = firstBytes.map { String($0, radix: 16) }.joined(separator: " ")
      return "\(path): not an IDX file (starts with \(hex.isEmpty ? "nothing" : hex), "
        + "expected 00 00 <type> <ndims>)"
    case .unsupportedIDXType(let path, let typeCode):
      return "\(path): unknown IDX element type 0x\(String(typeCode, radix: 16))"
    case .implausibleHeader(let path, let dims):
      return "\(path): IDX header has implausible dimensions \(dims)"
    case .sizeMismatch(let path, let expected, let actual):
      let kind = actual < expected ? "truncated" : "has trailing data"
      return "\(path): malformed, \(kind): header implies \(expected) bytes of data, "
        + "file holds \(actual)"
    case .unexpectedShape(let path, let found, let expected):
      return "\(path): found \(found), expected \(expected)"
    case .indexOutOfRange(let path, let index, let count):
      return "\(path): image index \(index) is out of range; the file holds \(count) images "
        + "(0...\(count - 1))"
    case .countMismatch(let imagesPath, let images, let labelsPath, let labels):
      return "\(imagesPath) holds \(images) images but \(labelsPath) holds \(labels) labels"
    case .missingFile(let path, let expected):
      return "\(path): missing \(expected)"
    case .partialRecord(let path, let length, let recordSize):
      return "\(path): length \(length) is not a multiple of the \(recordSize)-byte record; "
        + "the file is truncated or not a CIFAR-10 binary batch"
    case .labelOutOfRange(let path, let label, let classCount):
      return "\(path): label \(label) is outside 0..<\(classCount)"
    case .noClasses(let path):
      return "\(path): no class folders found; expected one sub-folder of images per class"
    case .emptyClass(let path):
      return "\(path): class folder holds no .png or .jpg images"
    case .unknownClass(let path, let knownClasses):
      return "\(path): class is not among the training classes ("
        + knownClasses.joined(separator: ", ") + ")"
    case .imageCodec(let error):
      return error.description
    case .imageSizeMismatch(let path, let width, let height, let expectedWidth, let expectedHeight):
      return "\(path): image is \(width)×\(height) but the data set's images are "
        + "\(expectedWidth)×\(expectedHeight); resize it or remove it"
    case .nothingReadable(let path, let skipped):
      return "\(path): none of its \(skipped) images could be read"
    case .unknownFormat(let path):
      return "\(path): not a recognised data set: expected MNIST IDX files "
        + "(train-images-idx3-ubyte[.gz], …), CIFAR-10 batches (data_batch_1.bin, …) "
        + "or one sub-folder of PNG/JPEG images per class"
    case .invalidClassNames(let path, let reason):
      return "\(path): not a class-names file (one name per line): \(reason)"
    case .classNameCountMismatch(let path, let names, let classes):
      return "\(path): names \(names) classes but the data set has \(classes); "
        + "give one name per class, in label order"
    }
  }
}
