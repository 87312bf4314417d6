import CZlib
import Files
import ImageCodecs
import Tensors

/// A decoded image folder kept on disk, so that the next run with the same
/// files and settings starts without decoding anything.
///
/// One file per folder and settings, `<cache folder>/<16 hex digits>.cvzdata`,
/// named by a hash of the folder's path and the settings, so that a changed
/// folder overwrites its own old cache instead of adding one. The file holds
///
///     "CVZDATA\0"  u32 version  u64 key length  key
///     u64 payload length  u32 CRC-32 of the payload  payload
///
/// little-endian. The key is the text of the settings, the class names and
/// every file of every part with its size, modification time (ns) and
/// label, in load order; a cache is used only when its key equals the one
/// computed from the folder as it is now, so adding, removing, touching or
/// rewriting any image invalidates it. The payload is each part's shape,
/// labels and samples, then the lenient warnings and skipped files. Samples
/// are stored as bytes when every value is exactly `k / 255` (8-bit images
/// without resizing or a luma conversion, e.g. CIFAR-10: a quarter of the
/// size), as float32 otherwise; either way the data set read back is the
/// decoded one bit for bit. A cache that is truncated, corrupt, from
/// another version or for other files is never trusted: it is rebuilt.
struct DecodedCache {
  static let magic: [UInt8] = Array("CVZDATA\0".utf8)
  static let version: UInt32 = 1
  /// The largest cache file read: 64 GiB.
  static let maximumBytes = 64 << 30

  let path: String
  let key: [UInt8]

  enum Lookup {
    case found(DatasetSplits)
    case absent
    case unusable(String)
  }

  /// The cache entry for `root` with these parts (files in load order) and
  /// `settings` (everything else that changes the decoded data).
  init(
    folder: String, root: String, classNames: [String], parts: [[ImageFolder.LabeledFile]],
    settings: [String]
  ) {
    var head = "convviz decoded image folder\n" + "root=\(root)\n"
    head += settings.map { $0 + "\n" }.joined()
    let name = Self.hash(Array(head.utf8))
    var text = head + "classes=" + classNames.joined(separator: "\u{1f}") + "\n"
    for (k, files) in parts.enumerated() {
      text += "part \(k): \(files.count)\n"
      for file in files {
        let size = file.status?.size ?? -1
        let modified = file.status?.modified ?? -1
        text += "\(file.path)\t\(size)\t\(modified)\t\(file.label)\n"
      }
    }
    key = Array(text.utf8)
    path = Path.join(folder, String(name, radix: 16).leftPadded(to: 16) + ".cvzdata")
  }

  /// FNV-1a, 64-bit: a stable name, not a check (the key is compared whole).
  static func hash(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes {
      h ^= UInt64(b)
      h = h &* 0x100_0000_01b3
    }
    return h
  }

  // MARK: Reading

  func read() -> Lookup {
    guard Path.kind(of: path) != nil else { return .absent }
    let bytes: [UInt8]
    do {
      bytes = try FileContents.read(path, maximumBytes: Self.maximumBytes)
    } catch {
      return .unusable(error.problem)
    }
    var reader = Reader(bytes: bytes)
    guard let magic = reader.bytes(8), magic == Self.magic else {
      return .unusable("it is not a convviz cache file")
    }
    guard let version = reader.u32(), version == Self.version else {
      return .unusable("it is from another version of convviz")
    }
    guard let keyLength = reader.count(), let storedKey = reader.bytes(keyLength) else {
      return .unusable("it is truncated")
    }
    guard storedKey == key else { return .unusable("the images or settings changed") }
    guard let payloadLength = reader.count(), let crc = reader.u32(),
      let payload = reader.bytes(payloadLength), reader.atEnd
    else { return .unusable("it is truncated") }
    guard Self.crc32(payload) == crc else { return .unusable("its checksum does not match") }
    guard let splits = Self.decodePayload(payload) else {
      return .unusable("its contents are malformed")
    }
    return .found(splits)
  }

  private static func decodePayload(_ payload: [UInt8]) -> DatasetSplits? {
    var r = Reader(bytes: payload)
    guard let classCount = r.count(), classCount <= payload.count else { return nil }
    var classNames: [String] = []
    for _ in 0..<classCount {
      guard let name = r.string() else { return nil }
      classNames.append(name)
    }
    guard let partCount = r.count(), partCount == 1 || partCount == 2 else { return nil }
    var parts: [Dataset] = []
    for _ in 0..<partCount {
      guard let n = r.count(), let c = r.count(), let h = r.count(), let w = r.count(),
        n >= 1, c == 1 || c == 3, h >= 1, w >= 1,
        case let (sample, overflow) = (c * h).multipliedReportingOverflow(by: w), !overflow,
        case let (total, overflowAgain) = sample.multipliedReportingOverflow(by: n),
        !overflowAgain, total <= payload.count * 4,
        let encoding = r.bytes(1)?.first
      else { return nil }
      var labels: [Int] = []
      labels.reserveCapacity(n)
      for _ in 0..<n {
        guard let label = r.u32(), Int(label) < max(classCount, 1) else { return nil }
        labels.append(Int(label))
      }
      switch encoding {
      case 0:
        guard let raw = r.bytes(total) else { return nil }
        parts.append(
          Dataset(bytes: raw, shape: Shape(n, c, h, w), labels: labels, classNames: classNames))
      case 1:
        guard let raw = r.bytes(total * 4) else { return nil }
        var storage = [Float](repeating: 0, count: total)
        for i in 0..<total {
          let bits =
            UInt32(raw[4 * i]) | UInt32(raw[4 * i + 1]) << 8 | UInt32(raw[4 * i + 2]) << 16
            | UInt32(raw[4 * i + 3]) << 24
          storage[i] = Float(bitPattern: bits)
        }
        parts.append(
          Dataset(
            images: Tensor(shape: Shape(n, c, h, w), storage: storage), labels: labels,
            classNames: classNames))
      default: return nil
      }
    }
    guard let warningCount = r.count(), warningCount <= payload.count else { return nil }
    var warnings: [CodecWarning] = []
    for _ in 0..<warningCount {
      guard let path = r.string(), let formatName = r.string(),
        let format = ImageFormat(rawValue: formatName), let message = r.string(),
        let count = r.count()
      else { return nil }
      warnings.append(CodecWarning(path: path, format: format, message: message, count: count))
    }
    guard let skippedCount = r.count(), skippedCount <= payload.count else { return nil }
    var skipped: [SkippedImage] = []
    for _ in 0..<skippedCount {
      guard let path = r.string(), let reason = r.string() else { return nil }
      skipped.append(SkippedImage(path: path, reason: reason))
    }
    guard r.atEnd else { return nil }
    var splits = DatasetSplits(
      train: parts[0], test: parts.count > 1 ? parts[1] : nil, format: .imageFolder,
      warnings: warnings)
    splits.skipped = skipped
    return splits
  }

  // MARK: Writing

  /// Writes `splits` atomically (creating the cache folder).
  func write(_ splits: DatasetSplits) throws(FileError) {
    var payload: [UInt8] = []
    let classNames = splits.train.classNames
    Self.append(count: classNames.count, to: &payload)
    for name in classNames { Self.append(string: name, to: &payload) }
    let parts = [splits.train] + (splits.test.map { [$0] } ?? [])
    Self.append(count: parts.count, to: &payload)
    for part in parts {
      for d in part.shape.dims { Self.append(count: d, to: &payload) }
      let bytes = part.compacted().sampleBytes
      payload.append(bytes == nil ? 1 : 0)
      for label in part.labels { Self.append(u32: UInt32(label), to: &payload) }
      if let bytes {
        payload += bytes
      } else {
        let images = part.images
        payload.reserveCapacity(payload.count + 4 * images.count)
        for value in images.storage { Self.append(u32: value.bitPattern, to: &payload) }
      }
    }
    Self.append(count: splits.warnings.count, to: &payload)
    for warning in splits.warnings {
      Self.append(string: warning.path, to: &payload)
      Self.append(string: warning.format.rawValue, to: &payload)
      Self.append(string: warning.message, to: &payload)
      Self.append(count: warning.count, to: &payload)
    }
    Self.append(count: splits.skipped.count, to: &payload)
    for skip in splits.skipped {
      Self.append(string: skip.path, to: &payload)
      Self.append(string: skip.reason, to: &payload)
    }
    var file = Self.magic
    Self.append(u32: Self.version, to: &file)
    Self.append(count: key.count, to: &file)
    file += key
    Self.append(count: payload.count, to: &file)
    Self.append(u32: Self.crc32(payload), to: &file)
    file += payload
    try Folder.create(Path.folder(of: path))
    try AtomicFile.write(file, to: path)
  }

  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: uLong = 0
    var offset = 0
    // zlib takes a 32-bit length: feed it in pieces.
    while offset < bytes.count {
      let piece = min(bytes.count - offset, 1 << 30)
      crc = bytes.withUnsafeBufferPointer {
        CZlib.crc32(crc, $0.baseAddress! + offset, uInt(piece))
      }
      offset += piece
    }
    return UInt32(crc)
  }

  private static func append(u32 value: UInt32, to bytes: inout [UInt8]) {
    for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * k))) }
  }

  private static func append(count value: Int, to bytes: inout [UInt8]) {
    let v = UInt64(value)
    for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
  }

  private static func append(string: String, to bytes: inout [UInt8]) {
    let utf8 = Array(string.utf8)
    append(count: utf8.count, to: &bytes)
    bytes += utf8
  }

  /// Little-endian fields from a byte array; nil past the end.
  private struct Reader {
    let bytes: [UInt8]
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func bytes(_ n: Int) -> [UInt8]? {
      guard n >= 0, n <= bytes.count - offset else { return nil }
      defer { offset += n }
      return Array(bytes[offset..<(offset + n)])
    }

    mutating func u32() -> UInt32? {
      guard let b = bytes(4) else { return nil }
      return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    /// A u64 that must fit an Int and the bytes left.
    mutating func count() -> Int? {
      guard let b = bytes(8) else { return nil }
      var v: UInt64 = 0
      for k in 0..<8 { v |= UInt64(b[k]) << (8 * k) }
      guard v <= UInt64(Int.max) else { return nil }
      return Int(v)
    }

    mutating func string() -> String? {
      guard let n = count(), let b = bytes(n) else { return nil }
      return String(decoding: b, as: UTF8.self)
    }
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
