import ImageCodecs

/// An IDX file (the MNIST format): a typed, n-dimensional array of big-endian
/// numbers behind a small header.
///
/// Layout: `00 00 <type> <ndims>`, then `ndims` big-endian UInt32 sizes, then
/// the elements, row-major. Gzip and raw files are both accepted. The payload
/// size implied by the header must equal the data actually present, so a
/// truncated file or one with a wrong count is reported, never half-read.
/// See <http://yann.lecun.com/exdb/mnist/>.
public struct IDXFile: Sendable, Equatable {
  /// The element type named by the third header byte.
  public enum ElementType: UInt8, Sendable, CaseIterable {
    case uint8 = 0x08
    case int8 = 0x09
    case int16 = 0x0B
    case int32 = 0x0C
    case float32 = 0x0D
    case float64 = 0x0E

    /// Bytes per element.
    public var size: Int {
      switch self {
      case .uint8, .int8: return 1
      case .int16: return 2
      case .int32, .float32: return 4
      case .float64: return 8
      }
    }
  }

  public var elementType: ElementType
  /// Sizes of each dimension, outermost first: (N, rows, columns) for images.
  public var dims: [Int]
  /// The payload exactly as stored (big-endian for multi-byte types).
  public var bytes: [UInt8]

  public init(elementType: ElementType, dims: [Int], bytes: [UInt8]) {
    self.elementType = elementType
    self.dims = dims
    self.bytes = bytes
  }

  /// Reads and validates an IDX file, raw or gzip.
  ///
  /// With `limit`, only the first `limit` entries of the outermost dimension
  /// are read and `dims[0]` says how many were kept: decoding stops there, so
  /// a small gzip file that inflates to gigabytes costs only what is kept.
  /// A raw file's length is still checked against its header (the size on
  /// disk says it without reading); the unread rest of a gzip file is not.
  public static func read(_ path: String, limit: Int? = nil) throws(DatasetError) -> IDXFile {
    var stream = try ByteStream(path: path)
    let header = try Header.read(from: &stream)
    let kept = header.keeping(limit)
    if kept.payloadBytes < header.payloadBytes && !stream.isGzip {
      let actual = stream.fileSize - header.size
      guard actual == header.payloadBytes else {
        throw .sizeMismatch(path: path, expectedBytes: header.payloadBytes, actualBytes: actual)
      }
    }
    let payload = try stream.read(
      exactly: kept.payloadBytes, expectedTotal: header.payloadBytes,
      totalStart: header.size)
    if kept.payloadBytes == header.payloadBytes {
      let extra = try stream.countRemaining()
      guard extra == 0 else {
        throw .sizeMismatch(
          path: path, expectedBytes: header.payloadBytes,
          actualBytes: header.payloadBytes + extra)
      }
    }
    return IDXFile(elementType: header.elementType, dims: kept.dims, bytes: payload)
  }

  /// Reads image `index` of an unsigned-byte IDX file of shape (N, rows, columns)
  /// as a gray 8-bit image, without keeping the rest of the file.
  ///
  /// For raw files the payload size is checked against the size on disk; for
  /// gzip, the data up to and including the image must be present.
  public static func image(at index: Int, path: String) throws(DatasetError) -> Image {
    var stream = try ByteStream(path: path)
    let header = try Header.read(from: &stream)
    guard header.elementType == .uint8, header.dims.count == 3 else {
      throw .unexpectedShape(
        path: path, found: header.summary, expected: "unsigned bytes of shape (N, rows, columns)")
    }
    let (count, rows, columns) = (header.dims[0], header.dims[1], header.dims[2])
    guard index >= 0, index < count else {
      throw .indexOutOfRange(path: path, index: index, count: count)
    }
    if !stream.isGzip {
      let actual = stream.fileSize - stream.position
      guard actual == header.payloadBytes else {
        throw .sizeMismatch(path: path, expectedBytes: header.payloadBytes, actualBytes: actual)
      }
    }
    let imageBytes = rows * columns
    let skipped = try stream.skip(index * imageBytes)
    guard skipped == index * imageBytes else {
      throw .sizeMismatch(path: path, expectedBytes: header.payloadBytes, actualBytes: skipped)
    }
    let pixels = try stream.read(
      exactly: imageBytes, expectedTotal: header.payloadBytes, totalStart: header.size)
    return Image(width: columns, height: rows, layout: .gray, samples: pixels)
  }

  /// The number of elements, the product of `dims`.
  public var elementCount: Int { dims.reduce(1, *) }

  /// Element type and shape, e.g. "uint8 of shape (60000, 28, 28)".
  public var summary: String {
    Header(elementType: elementType, dims: dims, payloadBytes: bytes.count).summary
  }

  /// The header fields and the payload size they imply.
  struct Header {
    var elementType: ElementType
    var dims: [Int]
    var payloadBytes: Int

    /// Bytes the header itself occupies.
    var size: Int { 4 + 4 * dims.count }

    var summary: String {
      "\(elementType) of shape (" + dims.map(String.init).joined(separator: ", ") + ")"
    }

    /// The header of the first `limit` entries of the outermost dimension
    /// (all of them when `limit` is nil or not smaller).
    func keeping(_ limit: Int?) -> Header {
      guard let limit, limit < dims[0] else { return self }
      var kept = self
      kept.dims[0] = max(limit, 0)
      // At most the original product, so no overflow.
      kept.payloadBytes = kept.dims.reduce(elementType.size, *)
      return kept
    }

    /// Reads just the header of the file at `path`.
    static func read(path: String) throws(DatasetError) -> Header {
      var stream = try ByteStream(path: path)
      return try read(from: &stream)
    }

    static func read(from stream: inout ByteStream) throws(DatasetError) -> Header {
      let path = stream.path
      let magic = try stream.read(upTo: 4)
      guard magic.count == 4, magic[0] == 0, magic[1] == 0 else {
        throw .notIDX(path: path, firstBytes: magic)
      }
      guard let type = ElementType(rawValue: magic[2]) else {
        throw .unsupportedIDXType(path: path, typeCode: magic[2])
      }
      let rank = Int(magic[3])
      guard rank >= 1 else { throw .notIDX(path: path, firstBytes: magic) }
      let sizeBytes = try stream.read(upTo: 4 * rank)
      guard sizeBytes.count == 4 * rank else {
        throw .sizeMismatch(path: path, expectedBytes: 4 * rank, actualBytes: sizeBytes.count)
      }
      var dims: [Int] = []
      for axis in 0..<rank {
        let b = sizeBytes[(4 * axis)..<(4 * axis + 4)].map(Int.init)
        dims.append(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3])
      }
      var total = type.size
      for d in dims {
        let (product, overflow) = total.multipliedReportingOverflow(by: d)
        guard !overflow else { throw .implausibleHeader(path: path, dims: dims) }
        total = product
      }
      return Header(elementType: type, dims: dims, payloadBytes: total)
    }
  }
}
