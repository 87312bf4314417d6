import FuzzSupport

/// Any bytes given to the decoder must give an image or a typed error, both
/// strictly and leniently (where libjpeg recovers from damaged data).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  ImageFuzzing.decode(data, size, name: "fuzz.jpeg", lenient: [false, true])
  return 0
}
