import ModelFormats

import FuzzSupport

/// An ONNX file reads the same through the wire scanner as through
/// swift-protobuf's decode of the whole message (the same model, bit for
/// bit, or the same error); a model read writes bytes that decode to a
/// model writing the same bytes again and imports into an engine graph or
/// throws a typed error. The same bytes as a lone TensorProto (ONNX's
/// test-data files) decode or throw a typed error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  let scanned = Result { () throws(ModelFileError) in
    try ONNXModel.decode(bytes, path: "fuzz.onnx")
  }
  let whole = Result { () throws(ModelFileError) in
    try ONNXModel.decode(bytes, path: "fuzz.onnx", parsing: .wholeMessage)
  }
  switch (scanned, whole) {
  case (.success(let model), .success(let reference)):
    let once = model.encoded()
    guard once == reference.encoded() else {
      fatalError("the wire scanner and swift-protobuf read different models")
    }
    guard let again = try? ONNXModel.decode(once, path: "fuzz.onnx").encoded(), again == once
    else { fatalError("an ONNX model convviz wrote does not read back the same") }
    _ = try? model.makeGraph()
  case (.failure(let a), .failure(let b)):
    guard a == b else {
      fatalError("the wire scanner and swift-protobuf fail differently: \(a) / \(b)")
    }
  default:
    fatalError("the wire scanner and swift-protobuf disagree: \(scanned) / \(whole)")
  }
  _ = try? ONNXTensor.decode(serialized: bytes)
  return 0
}
