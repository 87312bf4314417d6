import ImageCodecs

/// The image decoders' fuzz check, shared by fuzz-png, fuzz-jpeg and fuzz-pnm.
public enum ImageFuzzing {
  /// Any bytes must decode to an image whose samples fit its size, or give a
  /// typed error, with each `lenient` setting. The pixel limit is lowered so
  /// the fuzzer explores parsing, not allocation.
  public static func decode(
    _ data: UnsafePointer<UInt8>, _ size: Int, name: String, lenient: [Bool] = [false]
  ) {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for lenient in lenient {
      let options = DecodeOptions(pixelLimit: 4_000_000, lenient: lenient)
      guard let image = try? ImageFile.decode(bytes, name: name, options: options) else {
        continue
      }
      precondition(image.width > 0 && image.height > 0)
      precondition(
        image.samples8.count + image.samples16.count
          == image.width * image.height * image.channels)
    }
  }
}
