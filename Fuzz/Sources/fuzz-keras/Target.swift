import ModelFormats

import FuzzSupport

/// A Keras file (`.keras` zip or `.h5` HDF5, told apart by its bytes) either
/// reads, and then builds an engine graph or throws a typed error, converts
/// to a spec or throws, and fits the seed's MNIST spec or throws; or throws
/// a typed error. HDF5 files are read in a child process (crashes
/// and hangs of libhdf5 1.10 itself become errors; see
/// Tests/FuzzRegressions/README.md), so each input costs a fork.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let model = try? KerasModel.decode(bytes, path: "fuzz.keras") {
    _ = try? model.makeGraph()
    _ = try? model.sequentialSpec()
    _ = try? model.parameters(for: Preset.mnistCNN.spec)
  }
  return 0
}
