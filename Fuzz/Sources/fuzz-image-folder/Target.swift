import Datasets
import FuzzSupport

/// An image folder with two classes, one image each: the fuzzed bytes as an
/// image of class "a", and a copy of them under class "b".
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = FuzzScratch.bytes(data, size)
  _ = FuzzScratch.file("folder/a/x.png", bytes)
  _ = FuzzScratch.file("folder/b/y.jpg", bytes)
  _ = try? ImageFolder.load(folder: FuzzScratch.folder + "/folder", seed: 0)
  return 0
}
