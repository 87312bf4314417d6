import _CodecShims

/// Encodes an image handed over row by row, top row first: the streaming
/// half of `ImageFile.withEncoded`, whose bytes it reproduces exactly for
/// the same image and options (JPEG drops alpha and narrows 16-bit rows as
/// `ImageFile.encode` does; PNG is the band encoder fed band by band; PNM
/// drops alpha).
///
/// The encoded bytes collect inside the writer until `drain` hands them on,
/// so a caller that drains after each `write` holds only what those rows
/// produced.
public final class ImageRowWriter {
  public let format: ImageFormat
  public let width: Int
  public let height: Int
  /// The layout and depth of the rows `write` takes.
  public let layout: Image.Layout
  public let bitDepth: Image.BitDepth

  private var jpeg: OpaquePointer?
  private var png: OpaquePointer?
  /// PNM: the header and rows written since the last drain.
  private var pnm: [UInt8]?
  /// JPEG: the layout and depth the encoder takes after conversion.
  private let encodedLayout: Image.Layout
  /// Rows on their way to the encoder's layout or depth.
  private let staging = StagingBuffer()

  public init(
    format: ImageFormat, width: Int, height: Int, layout: Image.Layout,
    bitDepth: Image.BitDepth, options: EncodeOptions
  ) throws(CodecError) {
    self.format = format
    self.width = width
    self.height = height
    self.layout = layout
    self.bitDepth = bitDepth
    var error = cvz_error()
    switch format {
    case .jpeg:
      guard (1...100).contains(options.quality) else { throw .invalidQuality(options.quality) }
      encodedLayout = layout == .grayAlpha ? .gray : layout
      jpeg = cvz_jpeg_writer_open(
        UInt32(width), UInt32(height), Int32(encodedLayout.channels), Int32(options.quality),
        options.jpegDCT.flags, &error)
      guard jpeg != nil else { throw .encodeFailed(.jpeg, message: error.text) }
    case .png:
      encodedLayout = layout
      let settings = PNGCodec.Settings(level: options.pngCompressionLevel)
      png = cvz_png_writer_open(
        UInt32(width), UInt32(height), Int32(layout.channels), Int32(bitDepth.rawValue),
        settings.zlibLevel, settings.strategy, settings.filters, &error)
      guard png != nil else { throw .encodeFailed(.png, message: error.text) }
    case .pnm:
      encodedLayout = PNMCodec.storedLayout(layout)
      pnm = PNMCodec.header(width: width, height: height, layout: layout, bitDepth: bitDepth)
    }
  }

  deinit {
    if let jpeg { cvz_jpeg_writer_close(jpeg) }
    if let png { cvz_png_writer_close(png) }
  }

  /// Bytes of one row `write` takes.
  public var rowBytes: Int { width * layout.channels * (bitDepth == .sixteen ? 2 : 1) }

  /// Encodes the next `count` rows, `rowBytes` apart from `rows`.
  public func write(rows count: Int, from rows: UnsafeRawPointer) throws(CodecError) {
    var error = cvz_error()
    if let png {
      guard cvz_png_writer_write(png, rows, rowBytes, UInt32(count), &error) == 0 else {
        throw .encodeFailed(.png, message: error.text)
      }
      return
    }
    if pnm != nil {
      let stored = PNMCodec.storedRowBytes(width: width, layout: layout, bitDepth: bitDepth)
      if stored == rowBytes && bitDepth == .eight {
        pnm!.append(contentsOf: UnsafeRawBufferPointer(start: rows, count: stored * count))
        return
      }
      let converted = staging.bytes(stored * count)
      PNMCodec.store(
        rows: count, width: width, layout: layout, bitDepth: bitDepth, from: rows,
        into: converted)
      pnm!.append(contentsOf: UnsafeRawBufferPointer(start: converted, count: stored * count))
      return
    }
    guard let jpeg else { return }
    if encodedLayout == layout && bitDepth == .eight {
      guard
        cvz_jpeg_writer_write(
          jpeg, rows.assumingMemoryBound(to: UInt8.self), rowBytes, UInt32(count), &error) == 0
      else { throw .encodeFailed(.jpeg, message: error.text) }
      return
    }
    // As JPEGCodec.encode: 16-bit rounded to 8 bits, then alpha dropped.
    let samplesPerRow = width * layout.channels
    let encodedRowBytes = width * encodedLayout.channels
    let narrow = staging.bytes(samplesPerRow).assumingMemoryBound(to: UInt8.self)
    for y in 0..<count {
      let row = rows + y * rowBytes
      let eight: UnsafePointer<UInt8>
      if bitDepth == .sixteen {
        Image.narrowSamples(
          UnsafeBufferPointer(
            start: row.assumingMemoryBound(to: UInt16.self), count: samplesPerRow),
          into: narrow)
        eight = UnsafePointer(narrow)
      } else {
        eight = row.assumingMemoryBound(to: UInt8.self)
      }
      if encodedLayout != layout {
        Image.convertPixels(
          UnsafeBufferPointer(start: eight, count: samplesPerRow), from: layout,
          into: UnsafeMutableBufferPointer(start: narrow, count: encodedRowBytes),
          to: encodedLayout, opaque: UInt8.max)
      }
      let source = encodedLayout != layout ? UnsafePointer(narrow) : eight
      guard cvz_jpeg_writer_write(jpeg, source, encodedRowBytes, 1, &error) == 0 else {
        throw .encodeFailed(.jpeg, message: error.text)
      }
    }
  }

  /// Encoding work that may run on other threads, also while `write` runs:
  /// the PNG bands whose rows are all in (JPEG has none). Returns how many
  /// pieces there are; run each with `work(_:)`, once, on any threads, then
  /// call `endParallelWork`.
  public func beginParallelWork() -> Int {
    guard let png else { return 0 }
    return Int(cvz_png_writer_begin_compress(png))
  }

  /// Piece `index` of the work `beginParallelWork` counted.
  public func work(_ index: Int) {
    if let png { cvz_png_writer_compress(png, Int32(index)) }
  }

  /// Adds the finished pieces to the encoded bytes, in order.
  public func endParallelWork() throws(CodecError) {
    var error = cvz_error()
    if let png, cvz_png_writer_end_compress(png, &error) != 0 {
      throw .encodeFailed(.png, message: error.text)
    }
  }

  /// After the last row: ends the file (JPEG's EOI, PNG's checksum and IEND;
  /// PNM has no end).
  public func finish() throws(CodecError) {
    var error = cvz_error()
    if let png, cvz_png_writer_finish(png, &error) != 0 {
      throw .encodeFailed(.png, message: error.text)
    }
    if let jpeg, cvz_jpeg_writer_finish(jpeg, &error) != 0 {
      throw .encodeFailed(.jpeg, message: error.text)
    }
  }

  /// Hands the bytes encoded since the last drain to `body`, then forgets them.
  public func drain<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
    var bytes: UnsafePointer<UInt8>?
    var size = 0
    if let png { cvz_png_writer_output(png, &bytes, &size) }
    if let jpeg { cvz_jpeg_writer_output(jpeg, &bytes, &size) }
    if let pnm {
      guard !pnm.isEmpty else { return }
      let result: Result<Void, E> = pnm.withUnsafeBytes { bytes in
        do throws(E) { return .success(try body(bytes)) } catch { return .failure(error) }
      }
      try result.get()
      self.pnm!.removeAll(keepingCapacity: true)
      return
    }
    guard size > 0 else { return }
    try body(UnsafeRawBufferPointer(start: bytes, count: size))
    if let png { cvz_png_writer_consume(png) }
    if let jpeg { cvz_jpeg_writer_consume(jpeg) }
  }
}
