import Datasets
import FuzzSupport

/// CIFAR-10 binary batches of any length and content.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let path = FuzzScratch.file("data_batch_1.bin", FuzzScratch.bytes(data, size))
  if let set = try? CIFAR10.load(batches: [path]) {
    precondition(set.labels.count * 3 * 32 * 32 == set.images.count)
  }
  return 0
}
