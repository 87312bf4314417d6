import ImageFilters
import FuzzSupport

/// Kernel text as typed on the command line or stored in a file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  if let kernel = try? Kernel.parse(text) {
    precondition(kernel.rows > 0 && kernel.cols > 0 && kernel.weights.count == kernel.rows * kernel.cols)
    precondition(kernel.weights.allSatisfy(\.isFinite))
  }
  return 0
}
