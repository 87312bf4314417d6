import Datasets
import FuzzSupport

/// IDX files, raw or gzip: read whole, and image 0 on its own.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let path = FuzzScratch.file("input.idx", FuzzScratch.bytes(data, size))
  _ = try? IDXFile.read(path)
  _ = try? IDXFile.image(at: 0, path: path)
  return 0
}
