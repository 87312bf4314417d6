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
    guard let status = Path.status(of: path) else { return .absent }
    var r: StreamReader
    do {
      r = StreamReader(stream: try ByteStream(path: path), remaining: Int(status.size))
    } catch .file(let error) {
      return .unusable(error.problem)
    } catch {
      return .unusable(error.description)
    }
    guard !r.stream.isGzip, let magic = r.bytes(8), magic == Self.magic else {
      return .unusable("it is not a convviz cache file")
    }
    guard let version = r.u32(), version == Self.version else {
      return .unusable("it is from another version of convviz")
    }
    guard let keyLength = r.count() else { return .unusable("it is truncated") }
    guard keyLength == key.count else { return .unusable("the images or settings changed") }
    guard let storedKey = r.bytes(keyLength) else { return .unusable("it is truncated") }
    guard storedKey == key else { return .unusable("the images or settings changed") }
    guard let payloadLength = r.count(), let crc = r.u32(), payloadLength == r.remaining else {
      return .unusable("it is truncated")
    }
    // The payload is read straight into the data sets' arrays, its CRC
    // computed on the way; nothing is kept when the CRC disagrees.
    r.hashing = true
    let splits = Self.decodePayload(&r)
    r.drain()
    guard !r.failed else { return .unusable("it could not be read to its end") }
    guard r.crc == crc else { return .unusable("its checksum does not match") }
    guard let splits else { return .unusable("its contents are malformed") }
    return .found(splits)
  }

  private static func decodePayload(_ r: inout StreamReader) -> DatasetSplits? {
    guard let classCount = r.count(), classCount <= r.remaining else { return nil }
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
        !overflowAgain, total <= r.remaining,
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
    guard let warningCount = r.count(), warningCount <= r.remaining else { return nil }
    var warnings: [CodecWarning] = []
    for _ in 0..<warningCount {
      guard let path = r.string(), let formatName = r.string(),
        let format = ImageFormat(rawValue: formatName), let message = r.string(),
        let count = r.count()
      else { return nil }
      warnings.append(CodecWarning(path: path, format: format, message: message, count: count))
    }
    guard let skippedCount = r.count(), skippedCount <= r.remaining else { return nil }
    var skipped: [SkippedImage] = []
    for _ in 0..<skippedCount {
      guard let path = r.string(), let reason = r.string() else { return nil }
      skipped.append(SkippedImage(path: path, reason: reason))
    }
    guard r.remaining == 0 else { return nil }
    var splits = DatasetSplits(
      train: parts[0], test: parts.count > 1 ? parts[1] : nil, format: .imageFolder,
      warnings: warnings)
    splits.skipped = skipped
    return splits
  }

  // MARK: Writing

  /// Writes `splits` atomically (creating the cache folder).
  func write(_ splits: DatasetSplits) throws(FileError) {
    // The header first with the payload's length and CRC left at zero,
    // filled in once the payload follows it: one buffer, no copy of it.
    var payload = Self.magic
    Self.append(u32: Self.version, to: &payload)
    Self.append(count: key.count, to: &payload)
    payload += key
    let lengthOffset = payload.count
    Self.append(count: 0, to: &payload)
    Self.append(u32: 0, to: &payload)
    let payloadStart = payload.count
    let parts = [splits.train] + (splits.test.map { [$0] } ?? [])
    payload.reserveCapacity(
      payloadStart + parts.reduce(0) { $0 + 4 * $1.count + 4 * $1.shape.count } + 4096)
    let classNames = splits.train.classNames
    Self.append(count: classNames.count, to: &payload)
    for name in classNames { Self.append(string: name, to: &payload) }
    Self.append(count: parts.count, to: &payload)
    for part in parts {
      for d in part.shape.dims { Self.append(count: d, to: &payload) }
      let bytes = part.compacted().sampleBytes
      payload.append(bytes == nil ? 1 : 0)
      for label in part.labels { Self.append(u32: UInt32(label), to: &payload) }
      if let bytes {
        payload += bytes
      } else {
        for value in part.images.storage { Self.append(u32: value.bitPattern, to: &payload) }
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
    let length = UInt64(payload.count - payloadStart)
    let crc = payload.withUnsafeBufferPointer {
      Self.crc32(UnsafeBufferPointer(rebasing: $0[payloadStart...]), continuing: 0)
    }
    for k in 0..<8 { payload[lengthOffset + k] = UInt8(truncatingIfNeeded: length >> (8 * k)) }
    for k in 0..<4 { payload[lengthOffset + 8 + k] = UInt8(truncatingIfNeeded: crc >> (8 * k)) }
    try Folder.create(Path.folder(of: path))
    try AtomicFile.write(payload, to: path)
  }

  /// zlib's CRC-32 of `bytes` after `start`, the CRC of what came before.
  static func crc32(_ bytes: [UInt8], continuing start: uLong) -> uLong {
    bytes.withUnsafeBufferPointer { crc32($0, continuing: start) }
  }

  static func crc32(_ bytes: UnsafeBufferPointer<UInt8>, continuing start: uLong) -> uLong {
    var crc = start
    var offset = 0
    // zlib takes a 32-bit length: feed it in pieces.
    while offset < bytes.count {
      let piece = min(bytes.count - offset, 1 << 30)
      crc = CZlib.crc32(crc, bytes.baseAddress! + offset, uInt(piece))
      offset += piece
    }
    return crc
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

  /// Little-endian fields from the cache file, `remaining` bytes of it
  /// left; nil past the end or on a read error (then `failed`). With
  /// `hashing`, the CRC-32 of what is read accumulates in `crc`.
  private struct StreamReader: ~Copyable {
    var stream: ByteStream
    var remaining: Int
    var hashing = false
    var crc: uLong = 0
    var failed = false

    init(stream: consuming ByteStream, remaining: Int) {
      self.stream = stream
      self.remaining = remaining
    }

    mutating func bytes(_ n: Int) -> [UInt8]? {
      guard n >= 0, n <= remaining else { return nil }
      guard let b = try? stream.read(upTo: n), b.count == n else {
        failed = true
        remaining = 0
        return nil
      }
      remaining -= n
      if hashing { crc = DecodedCache.crc32(b, continuing: crc) }
      return b
    }

    /// Reads (and hashes) what is left.
    mutating func drain() {
      while remaining > 0, !failed { _ = bytes(min(remaining, 1 << 20)) }
    }

    mutating func u32() -> UInt32? {
      guard let b = bytes(4) else { return nil }
      return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    /// A u64 that must fit an Int.
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
