import ImageCodecs
import FuzzSupport

/// Any bytes given to the decoder must give an image or a typed error. The
/// pixel limit is lowered so the fuzzer explores parsing, not allocation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  var options = DecodeOptions.default
  options.pixelLimit = 4_000_000
  if let image = try? ImageFile.decode(bytes, name: "fuzz.pnm", options: options) {
    precondition(image.width > 0 && image.height > 0)
    precondition(
      image.samples8.count + image.samples16.count == image.width * image.height * image.channels)
  }
  return 0
}
