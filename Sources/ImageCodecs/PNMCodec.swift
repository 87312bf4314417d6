import _CodecShims

#if canImport(Glibc)
  import Glibc
#endif

/// Netpbm's PBM, PGM and PPM images, the uncompressed pixels that libjpeg's
/// `djpeg` writes and `cjpeg` reads.
///
/// Decoding reads all six kinds: P1/P4 (bitmap, 1 = black) to 8-bit `.gray`
/// 0/255; P2/P5 (gray) and P3/P6 (RGB) to `.gray`/`.rgb`, 8-bit when the
/// header's maxval is at most 255 and 16-bit above, samples scaled to the
/// full range when maxval is not 255 or 65535 (rounded, as Netpbm's
/// `pamdepth` does). A sample above maxval is corrupt data. Only the first
/// image of a file is read; bytes after it are ignored. PAM (P7) is not
/// read.
///
/// Encoding writes the binary kinds: `.gray` → P5, `.rgb` → P6, maxval 255
/// for 8-bit images and 65535 (big-endian samples) for 16-bit ones. Alpha is
/// dropped, as for JPEG: PGM and PPM have no alpha channel.
enum PNMCodec {
  /// What a header says, and where its samples start.
  struct Header: Equatable {
    /// The digit after "P": 1...6.
    var kind: Int
    var width: Int
    var height: Int
    /// The largest sample value; 1 for bitmaps.
    var maxval: Int
    /// The offset of the first sample in the file.
    var rasterOffset: Int

    /// P1...P3 store samples as decimal text.
    var isPlain: Bool { kind <= 3 }
    var layout: Image.Layout { kind == 3 || kind == 6 ? .rgb : .gray }
    var bitDepth: Image.BitDepth { maxval > 255 ? .sixteen : .eight }
    /// Bytes of one row of a binary (P4...P6) raster.
    var rasterRowBytes: Int {
      kind == 4 ? (width + 7) / 8 : width * layout.channels * (maxval > 255 ? 2 : 1)
    }
    /// Bytes of one decoded row.
    var imageRowBytes: Int { width * layout.channels * (bitDepth == .sixteen ? 2 : 1) }
  }

  /// "P1"..."P6" followed by whitespace or a comment.
  static func isSignature(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    bytes.count >= 3 && bytes[0] == UInt8(ascii: "P") && (49...54).contains(bytes[1])
      && (isSpace(bytes[2]) || bytes[2] == UInt8(ascii: "#"))
  }

  static func isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || (0x09...0x0D).contains(byte)
  }

  /// Reads the header at the start of `bytes` (which may be only the
  /// file's first bytes). Throws `.truncated` when `bytes` ends inside it.
  static func header(
    _ bytes: UnsafeBufferPointer<UInt8>, path: String
  ) throws(CodecError) -> Header {
    guard isSignature(bytes) else {
      throw .corrupt(path, .pnm, message: "the file does not start with P1...P6")
    }
    let kind = Int(bytes[1]) - 48
    var scanner = Scanner(bytes: bytes, position: 2)
    let width = try scanner.number(path: path, what: "width")
    let height = try scanner.number(path: path, what: "height")
    let maxval = kind == 1 || kind == 4 ? 1 : try scanner.number(path: path, what: "maxval")
    guard (1...65535).contains(maxval) else {
      throw .corrupt(path, .pnm, message: "maxval \(maxval) is outside 1...65535")
    }
    // One whitespace byte ends the header; the raster follows it.
    guard scanner.position < bytes.count else { throw .truncated(path, .pnm) }
    guard isSpace(bytes[scanner.position]) else {
      throw .corrupt(path, .pnm, message: "no whitespace after the header")
    }
    return Header(
      kind: kind, width: width, height: height, maxval: maxval,
      rasterOffset: scanner.position + 1)
  }

  /// Decimal numbers between whitespace and comments (a comment runs from
  /// "#" to the end of its line), for the header and the plain rasters.
  struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int

    /// Skips whitespace and comments; false at the end of the bytes.
    mutating func skipSpace() -> Bool {
      while position < bytes.count {
        let byte = bytes[position]
        if byte == UInt8(ascii: "#") {
          while position < bytes.count && bytes[position] != 0x0A && bytes[position] != 0x0D {
            position += 1
          }
        } else if PNMCodec.isSpace(byte) {
          position += 1
        } else {
          return true
        }
      }
      return false
    }

    mutating func number(path: String, what: String) throws(CodecError) -> Int {
      guard skipSpace() else { throw .truncated(path, .pnm) }
      var value = 0
      let start = position
      while position < bytes.count, (48...57).contains(bytes[position]) {
        value = value * 10 + Int(bytes[position] - 48)
        guard value <= Int(Int32.max) else {
          throw .corrupt(path, .pnm, message: "\(what) is too large")
        }
        position += 1
      }
      guard position > start else {
        throw .corrupt(
          path, .pnm, message: "expected the \(what), found byte 0x\(hex(bytes[position]))")
      }
      return value
    }

    /// A P1 sample: one "0" or "1", spaces between them optional.
    mutating func bit(path: String) throws(CodecError) -> Bool {
      guard skipSpace() else { throw .truncated(path, .pnm) }
      let byte = bytes[position]
      guard byte == UInt8(ascii: "0") || byte == UInt8(ascii: "1") else {
        throw .corrupt(path, .pnm, message: "expected 0 or 1, found byte 0x\(hex(byte))")
      }
      position += 1
      return byte == UInt8(ascii: "1")
    }

    private func hex(_ byte: UInt8) -> String {
      let digits = String(byte, radix: 16, uppercase: true)
      return digits.count == 1 ? "0" + digits : digits
    }
  }

  static func decode(
    _ bytes: UnsafeBufferPointer<UInt8>, path: String, options: DecodeOptions
  ) throws(CodecError) -> Image {
    let header = try header(bytes, path: path)
    let width = header.width, height = header.height
    try CodecError.checkSize(
      width: width, height: height, limit: options.pixelLimit, path: path, format: .pnm)
    try CodecError.checkExpectedSize(
      width: width, height: height, orientation: nil, options: options, path: path)
    if !header.isPlain {
      let (needed, overflow) = header.rasterRowBytes.multipliedReportingOverflow(by: height)
      guard !overflow, bytes.count - header.rasterOffset >= needed else {
        throw .truncated(path, .pnm)
      }
    }
    var failure: CodecError?
    let fill = { (pixels: UnsafeMutableRawPointer, size: Int) -> Bool in
      do throws(CodecError) {
        if header.isPlain {
          try readPlain(bytes, header: header, into: pixels, path: path)
        } else {
          try convert(
            rows: height, from: UnsafeRawPointer(bytes.baseAddress! + header.rasterOffset),
            header: header, into: pixels, path: path)
        }
        return true
      } catch {
        failure = error
        return false
      }
    }
    let count = width * height * header.layout.channels
    if header.bitDepth == .sixteen {
      guard
        let samples = decodedSamples(
          UInt16.self, count: count, buffers: options.buffers, fill: fill)
      else { throw failure ?? .outOfMemory(path) }
      return Image(width: width, height: height, layout: header.layout, samples16: samples)
    }
    guard
      let samples = decodedSamples(UInt8.self, count: count, buffers: options.buffers, fill: fill)
    else { throw failure ?? .outOfMemory(path) }
    return Image(width: width, height: height, layout: header.layout, samples: samples)
  }

  /// A sample above maxval.
  private static func outOfRange(_ value: Int, _ header: Header, path: String) -> CodecError {
    .corrupt(path, .pnm, message: "sample \(value) exceeds the maxval \(header.maxval)")
  }

  /// Decodes `rows` rows of a binary raster into decoded rows (`imageRowBytes`
  /// apart): unpacks bitmaps, scales samples to the full range, turns
  /// big-endian 16-bit samples into native ones.
  static func convert(
    rows: Int, from raw: UnsafeRawPointer, header: Header, into target: UnsafeMutableRawPointer,
    path: String
  ) throws(CodecError) {
    let samples = rows * header.width * header.layout.channels
    switch (header.kind, header.maxval) {
    case (4, _):
      let out = target.assumingMemoryBound(to: UInt8.self)
      let packed = raw.assumingMemoryBound(to: UInt8.self)
      for y in 0..<rows {
        let row = packed + y * header.rasterRowBytes
        for x in 0..<header.width {
          let black = row[x >> 3] & (0x80 >> UInt8(x & 7)) != 0
          out[y * header.width + x] = black ? 0 : 255
        }
      }
    case (_, 255):
      target.copyMemory(from: raw, byteCount: samples)
    case (_, 65535):
      let source = raw.assumingMemoryBound(to: UInt8.self)
      let out = target.assumingMemoryBound(to: UInt16.self)
      for i in 0..<samples {
        out[i] = UInt16(source[2 * i]) << 8 | UInt16(source[2 * i + 1])
      }
    case (_, let maxval) where maxval < 256:
      let table = scaleTable(maxval: maxval, to: 255)
      let source = raw.assumingMemoryBound(to: UInt8.self)
      let out = target.assumingMemoryBound(to: UInt8.self)
      for i in 0..<samples {
        let value = Int(source[i])
        guard value <= maxval else { throw outOfRange(value, header, path: path) }
        out[i] = UInt8(truncatingIfNeeded: table[value])
      }
    case (_, let maxval):
      let source = raw.assumingMemoryBound(to: UInt8.self)
      let out = target.assumingMemoryBound(to: UInt16.self)
      for i in 0..<samples {
        let value = Int(source[2 * i]) << 8 | Int(source[2 * i + 1])
        guard value <= maxval else { throw outOfRange(value, header, path: path) }
        out[i] = UInt16(scaled(value, maxval: maxval, to: 65535))
      }
    }
  }

  /// `value` of 0...maxval on the scale 0...top, rounded to nearest.
  static func scaled(_ value: Int, maxval: Int, to top: Int) -> Int {
    (value * top + maxval / 2) / maxval
  }

  private static func scaleTable(maxval: Int, to top: Int) -> [Int] {
    (0...maxval).map { scaled($0, maxval: maxval, to: top) }
  }

  /// Parses a plain (P1...P3) raster into decoded rows.
  private static func readPlain(
    _ bytes: UnsafeBufferPointer<UInt8>, header: Header, into target: UnsafeMutableRawPointer,
    path: String
  ) throws(CodecError) {
    var scanner = Scanner(bytes: bytes, position: header.rasterOffset)
    let samples = header.width * header.height * header.layout.channels
    if header.kind == 1 {
      let out = target.assumingMemoryBound(to: UInt8.self)
      for i in 0..<samples { out[i] = try scanner.bit(path: path) ? 0 : 255 }
      return
    }
    let sixteen = header.bitDepth == .sixteen
    let top = sixteen ? 65535 : 255
    for i in 0..<samples {
      let value = try scanner.number(path: path, what: "sample")
      guard value <= header.maxval else { throw outOfRange(value, header, path: path) }
      let sample = header.maxval == top ? value : scaled(value, maxval: header.maxval, to: top)
      if sixteen {
        target.assumingMemoryBound(to: UInt16.self)[i] = UInt16(sample)
      } else {
        target.assumingMemoryBound(to: UInt8.self)[i] = UInt8(sample)
      }
    }
  }

  // MARK: Encoding

  /// The layout a PNM file of an image with `layout` stores: alpha dropped.
  static func storedLayout(_ layout: Image.Layout) -> Image.Layout {
    layout == .gray || layout == .grayAlpha ? .gray : .rgb
  }

  /// The header of the binary PGM or PPM that stores such an image.
  static func header(
    width: Int, height: Int, layout: Image.Layout, bitDepth: Image.BitDepth
  ) -> [UInt8] {
    let kind = storedLayout(layout) == .gray ? "P5" : "P6"
    let maxval = bitDepth == .sixteen ? 65535 : 255
    return Array("\(kind)\n\(width) \(height)\n\(maxval)\n".utf8)
  }

  /// Bytes of one stored row.
  static func storedRowBytes(width: Int, layout: Image.Layout, bitDepth: Image.BitDepth) -> Int {
    width * storedLayout(layout).channels * (bitDepth == .sixteen ? 2 : 1)
  }

  /// Writes `rows` rows of samples (`layout`, `bitDepth`, contiguous) as
  /// stored rows: alpha dropped, 16-bit samples big-endian.
  static func store(
    rows: Int, width: Int, layout: Image.Layout, bitDepth: Image.BitDepth,
    from source: UnsafeRawPointer, into target: UnsafeMutableRawPointer
  ) {
    let pixels = rows * width
    let channels = layout.channels
    let kept = storedLayout(layout).channels
    if bitDepth == .eight {
      let from = source.assumingMemoryBound(to: UInt8.self)
      let to = target.assumingMemoryBound(to: UInt8.self)
      if channels == kept {
        to.update(from: from, count: pixels * channels)
        return
      }
      for p in 0..<pixels {
        for c in 0..<kept { to[p * kept + c] = from[p * channels + c] }
      }
      return
    }
    let from = source.assumingMemoryBound(to: UInt16.self)
    let to = target.assumingMemoryBound(to: UInt16.self)
    for p in 0..<pixels {
      for c in 0..<kept { to[p * kept + c] = from[p * channels + c].bigEndian }
    }
  }

  static func encode(_ image: Image) throws(CodecError) -> ShimBuffer {
    let head = header(
      width: image.width, height: image.height, layout: image.layout, bitDepth: image.bitDepth)
    let rowBytes = storedRowBytes(
      width: image.width, layout: image.layout, bitDepth: image.bitDepth)
    let size = head.count + rowBytes * image.height
    guard let data = malloc(size) else {
      throw .encodeFailed(.pnm, message: "out of memory for \(size) bytes")
    }
    data.copyMemory(from: head, byteCount: head.count)
    let store = { (source: UnsafeRawPointer) in
      PNMCodec.store(
        rows: image.height, width: image.width, layout: image.layout, bitDepth: image.bitDepth,
        from: source, into: data + head.count)
    }
    if image.bitDepth == .sixteen {
      image.samples16.withUnsafeBytes { store($0.baseAddress!) }
    } else {
      image.samples8.withUnsafeBytes { store($0.baseAddress!) }
    }
    return ShimBuffer(cvz_buffer(data: data.assumingMemoryBound(to: UInt8.self), size: size))
  }
}
