import _CodecShims
import _Runtime

extension cvz_error {
  /// The message the shim copied from the library, without the trailing NULs.
  var text: String {
    withUnsafeBytes(of: message) { raw in
      String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
  }
}

extension CodecError {
  /// Turns a shim failure while decoding `path` into the matching case
  /// (as swift-nio's `syscall` wrapper turns -1 into an error).
  init(decoding error: cvz_error, path: String, format: ImageFormat) {
    switch error.kind {
    case CVZ_ERROR_TRUNCATED: self = .truncated(path, format)
    case CVZ_ERROR_UNSUPPORTED: self = .unsupported(path, message: error.text)
    case CVZ_ERROR_NO_MEMORY: self = .outOfMemory(path)
    case CVZ_ERROR_CORRUPT_DATA: self = .corruptData(path, format, message: error.text)
    default: self = .corrupt(path, format, message: error.text)
    }
  }

  /// Checks a header's size against `limit` before any pixel buffer exists.
  static func checkSize(
    width: Int, height: Int, limit: Int, path: String,
    format: ImageFormat
  ) throws(CodecError) {
    guard width > 0, height > 0 else {
      throw .corrupt(path, format, message: "image is \(width)×\(height), it has no pixels")
    }
    let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
    if overflow || pixels > limit {
      throw .tooManyPixels(path, width: width, height: height, limit: limit)
    }
  }

  /// Checks a header's size, turned as `orientation` will turn the pixels,
  /// against `options.expectedSize` before any pixel is decoded.
  static func checkExpectedSize(
    width: Int, height: Int, orientation: EXIFOrientation?, options: DecodeOptions,
    path: String
  ) throws(CodecError) {
    guard let expected = options.expectedSize else { return }
    let turned = orientation?.swapsAxes ?? false
    let size =
      turned ? ImageSize(width: height, height: width) : ImageSize(width: width, height: height)
    guard size == expected else {
      throw .unexpectedSize(
        path, width: size.width, height: size.height, expectedWidth: expected.width,
        expectedHeight: expected.height)
    }
  }
}

/// `count` samples for `fill` to decode into: kept ones of `buffers` when
/// it has an array of that size, else new ones (see `freshSamples`). `fill`
/// returns false when decoding failed, and the partial samples are dropped.
func decodedSamples<T: FixedWidthInteger>(
  _ type: T.Type, count: Int, buffers: SampleBuffers?,
  fill: (UnsafeMutableRawPointer, Int) -> Bool
) -> [T]? {
  SampleBuffers.samples(type, count: count, from: buffers, fill: fill)
}
