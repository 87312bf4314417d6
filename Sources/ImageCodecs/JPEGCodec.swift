import _CodecShims

/// JPEG decoding and encoding through the libjpeg-turbo shim (8-bit API).
///
/// Gray files decode to `.gray`; YCbCr, RGB, CMYK and YCCK files to `.rgb`
/// (CMYK converted as R = C·K/255 on Adobe-inverted values, as Pillow does).
/// A file that ends early is an error, not a gray-padded image; so is other
/// damaged data libjpeg would fill with gray, unless the decode is lenient.
enum JPEGCodec {
  static func decode(
    _ bytes: UnsafeBufferPointer<UInt8>, path: String,
    options: DecodeOptions, warning: (CodecWarning) -> Void
  )
    throws(CodecError) -> Image
  {
    var info = cvz_image_info()
    var error = cvz_error()
    guard
      let decoder = cvz_jpeg_open(
        bytes.baseAddress, bytes.count, options.jpegFlags, &info, &error)
    else {
      throw CodecError(decoding: error, path: path, format: .jpeg)
    }
    defer { cvz_jpeg_close(decoder) }
    let width = Int(info.width), height = Int(info.height)
    try CodecError.checkSize(
      width: width, height: height, limit: options.pixelLimit, path: path, format: .jpeg)
    let orientation = options.appliesEXIFOrientation ? EXIFOrientation(jpeg: bytes) : nil
    try CodecError.checkExpectedSize(
      width: width, height: height, orientation: orientation, options: options, path: path)
    guard let layout = Image.Layout(rawValue: Int(info.channels)) else {
      throw .unsupported(path, message: "JPEG decodes to \(info.channels) channels")
    }
    let samples = decodedSamples(
      UInt8.self, count: width * height * layout.channels, buffers: options.buffers
    ) { pixels, size in
      cvz_jpeg_read(decoder, pixels.assumingMemoryBound(to: UInt8.self), size, &error) == 0
    }
    guard let samples else { throw CodecError(decoding: error, path: path, format: .jpeg) }
    var accepted = cvz_warnings()
    cvz_jpeg_warnings(decoder, &accepted)
    if accepted.count > 0 {
      let message = withUnsafeBytes(of: accepted.first) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      warning(
        CodecWarning(path: path, format: .jpeg, message: message, count: Int(accepted.count)))
    }
    let image = Image(width: width, height: height, layout: layout, samples: samples)
    guard let orientation, orientation != .up else { return image }
    return image.oriented(orientation)
  }

  /// Gray and RGB(A) 8-bit samples; alpha is dropped (JPEG has none) and
  /// 16-bit images are rounded to 8 bits first. Chroma is subsampled 4:2:0.
  static func encode(
    _ image: Image, quality: Int, dct: JPEGDCT = .int
  ) throws(CodecError) -> ShimBuffer {
    guard (1...100).contains(quality) else { throw .invalidQuality(quality) }
    var source = image.bitDepth == .sixteen ? image.to8Bit() : image
    if source.layout == .grayAlpha { source = source.converted(to: .gray) }
    var buffer = cvz_buffer()
    var error = cvz_error()
    let status = source.samples8.withUnsafeBufferPointer { samples in
      cvz_jpeg_encode(
        samples.baseAddress, UInt32(source.width), UInt32(source.height),
        Int32(source.channels), Int32(quality), dct.flags, &buffer, &error)
    }
    guard status == 0 else { throw .encodeFailed(.jpeg, message: error.text) }
    return ShimBuffer(buffer)
  }
}
