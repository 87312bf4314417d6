import ModelFormats

import FuzzSupport

/// An ONNX file either decodes, and then writes bytes that decode to a
/// model writing the same bytes again and imports into an engine graph or
/// throws a typed error, or throws a typed error; the same bytes as a lone
/// TensorProto (ONNX's test-data files) likewise.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let model = try? ONNXModel.decode(bytes, path: "fuzz.onnx") {
    let once = model.encoded()
    guard let again = try? ONNXModel.decode(once, path: "fuzz.onnx").encoded(), again == once
    else { fatalError("an ONNX model convviz wrote does not read back the same") }
    _ = try? model.makeGraph()
  }
  _ = try? ONNXTensor.decode(serialized: bytes)
  return 0
}
