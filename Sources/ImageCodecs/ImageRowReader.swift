import Files
import _CodecShims

#if canImport(Glibc)
  import Glibc
#endif

/// Reads a PNG, JPEG or PNM file row by row, top row first: the streaming
/// half of `ImageFile.read`, holding the codec's state and 64 KiB of the
/// file instead of the file and the image.
///
/// Opening makes `ImageFile.read`'s checks (a regular file within
/// `DecodeOptions.maximumFileSize`, a header within `pixelLimit`) and reads
/// the header. When `wholeImageReason` is nil the rows are exactly those of
/// `ImageFile.read` (converted to gray when asked, as `Image.converted(to:)`
/// does); otherwise the image needs a step over the whole picture first
/// (an EXIF rotation, Adam7 interlacing, a plain-text PNM) and the caller
/// should use `ImageFile.read`. A file that is damaged past its header fails in
/// `read(rows:into:)` or `finish` with the error `ImageFile.read` gives.
public final class ImageRowReader {
  public let path: String
  public let format: ImageFormat
  public let width: Int
  public let height: Int
  /// The layout of the rows `read` delivers.
  public let layout: Image.Layout
  public let bitDepth: Image.BitDepth
  /// Why the rows in file order are not the image `ImageFile.read` returns,
  /// or nil when they are.
  public let wholeImageReason: String?
  /// A progressive JPEG: libjpeg holds all of its coefficients while the
  /// rows are read, so memory is not flat.
  public let isProgressive: Bool

  private let storedLayout: Image.Layout
  private let options: DecodeOptions
  private var fd: Int32
  private var jpeg: OpaquePointer?
  private var png: OpaquePointer?
  /// A binary PNM: its header, and the file offset of the next raw row.
  private var pnm: PNMCodec.Header?
  private var pnmOffset = 0
  /// The raw raster rows of a PNM that need converting.
  private let raw = StagingBuffer()
  private var started = false
  private var rowsRead = 0
  /// PNG: whether the first bytes settled the orientation, so that an eXIf
  /// chunk after the image data cannot change it.
  private var orientationSettled = true
  /// Stored rows on their way to another layout.
  private let staging = StagingBuffer()

  /// The bytes read ahead to find the EXIF orientation before the image data.
  static let headBytes = 1 << 20

  /// Opens `path` and reads its header. With `gray`, colour rows are
  /// delivered as gray (gray+alpha when the file has alpha).
  public init(path: String, options: DecodeOptions, gray: Bool) throws(CodecError) {
    self.path = path
    self.options = options
    let opened: (fd: Int32, size: Int)
    do {
      opened = try FileContents.open(path, maximumBytes: options.maximumFileSize)
    } catch .tooLarge(_, let size, let limit) {
      throw .fileTooLarge(path, bytes: size, limit: limit)
    } catch {
      throw .file(error)
    }
    let size = opened.size
    fd = opened.fd
    // Not zero-filled first: only the bytes pread returns are kept.
    let head = [UInt8](unsafeUninitializedCapacity: min(size, Self.headBytes)) { buffer, count in
      count = max(pread(opened.fd, buffer.baseAddress, buffer.count, 0), 0)
    }
    let header = try Self.openDecoder(
      fd: opened.fd, head: head, whole: head.count == size, path: path, options: options)
    format = header.format
    jpeg = header.jpeg
    png = header.png
    pnm = header.pnm
    pnmOffset = header.pnm?.rasterOffset ?? 0
    orientationSettled = header.orientationSettled
    wholeImageReason = header.reason
    isProgressive = header.jpeg.map { cvz_jpeg_progressive($0) != 0 } ?? false
    width = Int(header.info.width)
    height = Int(header.info.height)
    bitDepth = header.info.bit_depth == 16 ? .sixteen : .eight
    let stored = Image.Layout(rawValue: Int(header.info.channels)) ?? .gray
    storedLayout = stored
    layout =
      gray && (stored == .rgb || stored == .rgba) ? (stored.hasAlpha ? .grayAlpha : .gray) : stored
    guard Image.Layout(rawValue: Int(header.info.channels)) != nil else {
      closeDecoder()
      throw .unsupported(
        path, message: "\(format.name) decodes to \(header.info.channels) channels")
    }
    do {
      try CodecError.checkSize(
        width: width, height: height, limit: options.pixelLimit, path: path, format: format)
    } catch {
      closeDecoder()
      throw error
    }
  }

  private struct Header {
    var format: ImageFormat
    var jpeg: OpaquePointer?
    var png: OpaquePointer?
    var pnm: PNMCodec.Header?
    var info: cvz_image_info
    var reason: String?
    var orientationSettled: Bool
  }

  /// Sniffs `head`, looks for the EXIF orientation in it and opens the
  /// decoder on `fd`; closes `fd` when it throws.
  private static func openDecoder(
    fd: Int32, head: [UInt8], whole: Bool, path: String, options: DecodeOptions
  ) throws(CodecError) -> Header {
    var info = cvz_image_info()
    var error = cvz_error()
    var reason: String?
    let turns = { (o: EXIFOrientation) in "EXIF orientation \(o.rawValue) turns the picture" }
    let format = head.withUnsafeBufferPointer { bytes in
      ImageFile.sniff(bytes) ?? (ImageFile.looksLikeDamagedPNG(bytes) ? .png : nil)
    }
    switch format {
    case .png:
      var settled = true
      if options.appliesEXIFOrientation {
        let orientation = head.withUnsafeBufferPointer { EXIFOrientation(png: $0) }
        if let orientation, orientation != .up {
          reason = turns(orientation)
        } else if orientation == nil {
          settled = whole
          let reaches = head.withUnsafeBufferPointer { EXIFOrientation.pngReachesImageData($0) }
          if !whole && !reaches {
            reason = "the chunks before the image data exceed \(headBytes >> 20) MiB"
          }
        }
      }
      guard let png = cvz_png_open_fd(fd, &info, &error) else {
        close(fd)
        if error.text == "Not a PNG file" {
          throw .corrupt(path, .png, message: "bad signature: the first 8 bytes are not a PNG's")
        }
        throw CodecError(decoding: error, path: path, format: .png)
      }
      if reason == nil && cvz_png_interlaced(png) != 0 { reason = "interlaced PNG" }
      return Header(
        format: .png, png: png, info: info, reason: reason, orientationSettled: settled)
    case .jpeg:
      if options.appliesEXIFOrientation {
        let scan = head.withUnsafeBufferPointer { EXIFOrientation.scanJPEG($0) }
        if let orientation = scan.orientation, orientation != .up {
          reason = turns(orientation)
        } else if !scan.decided && !whole {
          reason = "the JPEG header exceeds \(headBytes >> 20) MiB"
        }
      }
      guard let jpeg = cvz_jpeg_open_fd(fd, options.jpegFlags, &info, &error) else {
        close(fd)
        throw CodecError(decoding: error, path: path, format: .jpeg)
      }
      return Header(
        format: .jpeg, jpeg: jpeg, info: info, reason: reason, orientationSettled: true)
    case .pnm:
      let pnm: PNMCodec.Header
      do {
        pnm = try head.withUnsafeBufferPointer { bytes throws(CodecError) in
          try PNMCodec.header(bytes, path: path)
        }
      } catch {
        close(fd)
        // A header that fills the first MiB is not one anyone wrote.
        if case .truncated = error, !whole {
          throw .corrupt(path, .pnm, message: "the header exceeds \(headBytes >> 20) MiB")
        }
        throw error
      }
      info.width = UInt32(clamping: pnm.width)
      info.height = UInt32(clamping: pnm.height)
      info.channels = Int32(pnm.layout.channels)
      info.bit_depth = Int32(pnm.bitDepth.rawValue)
      return Header(
        format: .pnm, pnm: pnm, info: info,
        reason: pnm.isPlain ? "plain (text) PNM" : nil, orientationSettled: true)
    case nil:
      close(fd)
      throw head.isEmpty ? .emptyFile(path) : .unknownFormat(path)
    }
  }

  deinit {
    closeDecoder()
  }

  /// Bytes of one delivered row.
  public var rowBytes: Int { width * layout.channels * (bitDepth == .sixteen ? 2 : 1) }

  private var storedRowBytes: Int { width * storedLayout.channels * (bitDepth == .sixteen ? 2 : 1) }

  /// Decodes the next `count` rows into `buffer`, `rowBytes` apart.
  public func read(rows count: Int, into buffer: UnsafeMutableRawPointer) throws(CodecError) {
    precondition(count >= 0 && rowsRead + count <= height, "rows past the end of the image")
    var error = cvz_error()
    if !started, let jpeg {
      started = true
      guard cvz_jpeg_start(jpeg, &error) == 0 else {
        throw CodecError(decoding: error, path: path, format: .jpeg)
      }
    }
    started = true
    if storedLayout == layout {
      try decode(count, into: buffer, stride: rowBytes)
      return
    }
    // Conversion: a few stored rows at a time through the staging buffer.
    let batch = max(1, min(count, (1 << 18) / max(storedRowBytes, 1)))
    let raw = staging.bytes(batch * storedRowBytes)
    var done = 0
    while done < count {
      let n = min(batch, count - done)
      try decode(n, into: raw, stride: storedRowBytes)
      let target = buffer + done * rowBytes
      let samples = n * width * storedLayout.channels
      let converted = n * width * layout.channels
      if bitDepth == .sixteen {
        Image.convertPixels(
          UnsafeBufferPointer(start: raw.assumingMemoryBound(to: UInt16.self), count: samples),
          from: storedLayout,
          into: UnsafeMutableBufferPointer(
            start: target.assumingMemoryBound(to: UInt16.self), count: converted),
          to: layout, opaque: UInt16.max)
      } else {
        Image.convertPixels(
          UnsafeBufferPointer(start: raw.assumingMemoryBound(to: UInt8.self), count: samples),
          from: storedLayout,
          into: UnsafeMutableBufferPointer(
            start: target.assumingMemoryBound(to: UInt8.self), count: converted),
          to: layout, opaque: UInt8.max)
      }
      done += n
    }
  }

  private func decode(
    _ count: Int, into buffer: UnsafeMutableRawPointer, stride: Int
  ) throws(CodecError) {
    var error = cvz_error()
    if let jpeg {
      guard
        cvz_jpeg_read_rows(
          jpeg, buffer.assumingMemoryBound(to: UInt8.self), stride, UInt32(count), &error) == 0
      else {
        throw CodecError(decoding: error, path: path, format: .jpeg)
      }
    } else if let png {
      guard cvz_png_read_rows(png, buffer, stride, UInt32(count), &error) == 0 else {
        throw CodecError(decoding: error, path: path, format: .png)
      }
    } else if let pnm {
      try readPNM(count, header: pnm, into: buffer, stride: stride)
    }
    rowsRead += count
  }

  /// Reads raw PNM rows from the file, at most 256 KiB at a time, and
  /// converts them into `buffer`.
  private func readPNM(
    _ count: Int, header: PNMCodec.Header, into buffer: UnsafeMutableRawPointer, stride: Int
  ) throws(CodecError) {
    precondition(!header.isPlain, "a plain PNM is read whole")
    // 8-bit samples at maxval 255 are the rows themselves: read in place.
    if header.kind != 4 && header.maxval == 255 && stride == header.rasterRowBytes {
      try preadAll(buffer, count * stride, at: pnmOffset)
      pnmOffset += count * stride
      return
    }
    let batch = max(1, min(count, (1 << 18) / max(header.rasterRowBytes, 1)))
    let rawRows = raw.bytes(batch * header.rasterRowBytes)
    var done = 0
    while done < count {
      let n = min(batch, count - done)
      let wanted = n * header.rasterRowBytes
      try preadAll(rawRows, wanted, at: pnmOffset)
      pnmOffset += wanted
      try PNMCodec.convert(
        rows: n, from: rawRows, header: header, into: buffer + done * stride, path: path)
      done += n
    }
  }

  /// Reads exactly `count` bytes of the file at `offset`; a file that ends
  /// first is a truncated PNM.
  private func preadAll(
    _ target: UnsafeMutableRawPointer, _ count: Int, at offset: Int
  ) throws(CodecError) {
    var got = 0
    while got < count {
      let r = pread(fd, target + got, count - got, off_t(offset + got))
      if r < 0 && errno == EINTR { continue }
      if r < 0 {
        throw .file(.cannotRead(path: path, reason: String(cString: strerror(errno))))
      }
      if r == 0 { throw .truncated(path, .pnm) }
      got += r
    }
  }

  /// After the last row: reads and checks the rest of the file, as
  /// `ImageFile.read` does, and reports accepted damage (lenient JPEG) to
  /// `warning`. Returns false when the file turned out to need the
  /// whole-image path after all (a PNG eXIf chunk after the image data).
  public func finish(warning: (CodecWarning) -> Void = { _ in }) throws(CodecError) -> Bool {
    precondition(rowsRead == height, "finish before the last row")
    var error = cvz_error()
    if let jpeg {
      guard cvz_jpeg_finish(jpeg, &error) == 0 else {
        throw CodecError(decoding: error, path: path, format: .jpeg)
      }
      var accepted = cvz_warnings()
      cvz_jpeg_warnings(jpeg, &accepted)
      if accepted.count > 0 {
        let message = withUnsafeBytes(of: accepted.first) { raw in
          String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        warning(
          CodecWarning(path: path, format: .jpeg, message: message, count: Int(accepted.count)))
      }
      return true
    }
    guard let png else { return true }  // PNM: bytes after the image are ignored
    guard cvz_png_finish(png, &error) == 0 else {
      throw CodecError(decoding: error, path: path, format: .png)
    }
    return orientationSettled || cvz_png_has_exif(png) == 0
  }

  private func closeDecoder() {
    if let jpeg { cvz_jpeg_close(jpeg) }
    if let png { cvz_png_close(png) }
    jpeg = nil
    png = nil
    pnm = nil
    if fd >= 0 { close(fd) }
    fd = -1
  }
}
