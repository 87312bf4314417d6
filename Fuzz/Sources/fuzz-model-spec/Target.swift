import ModelFormats

import FuzzSupport

/// Model spec text: parse it and, when it parses, print its summary (shape
/// inference and parameter counts) without allocating the weights.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  if let spec = try? ModelSpec.parse(text) {
    _ = ModelSummary(spec).render()
  }
  return 0
}
