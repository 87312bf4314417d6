import _CodecShims

/// libjpeg-turbo's DCT method, for decoding (the inverse DCT) and encoding
/// (the forward one); the names are those of `djpeg -dct` and `cjpeg -dct`.
/// All three run libjpeg-turbo's SIMD code on x86-64.
public enum JPEGDCT: String, Sendable, CaseIterable {
  /// Accurate integer (`JDCT_ISLOW`), libjpeg's default and convviz's: the
  /// pixels `djpeg`, Pillow and OpenCV decode.
  case int
  /// Fast integer (`JDCT_IFAST`): less accurate, most of all at high quality.
  case fast
  /// Floating point (`JDCT_FLOAT`): results may differ between machines.
  case float

  var flags: Int32 {
    switch self {
    case .int: return 0
    case .fast: return Int32(CVZ_JPEG_DCT_FAST)
    case .float: return Int32(CVZ_JPEG_DCT_FLOAT)
    }
  }
}

/// How a decoder brings subsampled chroma (4:2:0, 4:2:2) to full size.
public enum JPEGUpsampling: String, Sendable, CaseIterable {
  /// libjpeg's default ("fancy", triangle filter): the pixels `djpeg`,
  /// Pillow and OpenCV decode.
  case fancy
  /// Each chroma sample repeated over its block, merged with the colour
  /// conversion (`djpeg -nosmooth`): faster, blockier colour edges.
  case fast
}

extension DecodeOptions {
  /// The shim's flags for these options.
  var jpegFlags: Int32 {
    var flags = jpegDCT.flags
    if lenient { flags |= Int32(CVZ_JPEG_LENIENT) }
    if jpegUpsampling == .fast { flags |= Int32(CVZ_JPEG_FAST_UPSAMPLING) }
    return flags
  }
}
