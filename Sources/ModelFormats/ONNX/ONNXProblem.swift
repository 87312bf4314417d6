/// What is wrong with an ONNX file, carried by `ModelFileError.onnx` with
/// the file's path. Each case names the tensor or node concerned.
public enum ONNXProblem: Error, Equatable, Sendable, CustomStringConvertible {
  /// The bytes are not a protobuf ModelProto (truncated, corrupt, or
  /// another kind of file).
  case corrupt(reason: String)
  /// The ModelProto holds no graph.
  case noGraph
  /// The default-domain operator set is outside what convviz reads.
  case unsupportedOpset(found: Int, supported: ClosedRange<Int>)
  /// A node (or the graph's output list) reads a tensor that no
  /// initializer, graph input or node provides.
  case missingTensor(node: String, tensor: String)
  /// Two initializers, inputs or node outputs share a name.
  case duplicateTensor(String)
  /// The nodes depend on each other in a circle.
  case cycle(nodes: [String])
  /// The dimensions declare one number of elements, the data holds another.
  case sizeMismatch(tensor: String, declared: Int, found: Int)
  /// A negative dimension, or dimensions whose product overflows.
  case invalidDimensions(tensor: String, dims: [Int64])
  /// Elements of a type convviz does not read (strings, bool, complex…).
  case unsupportedDataType(tensor: String, type: String)
  /// The tensor's data is in a file beside the model that cannot be used.
  case externalData(tensor: String, reason: String)
  /// More bytes than convviz will allocate for one tensor.
  case tensorTooLarge(tensor: String, bytes: Int, limit: Int)
  /// The importer has no engine operation for this node's op.
  case unsupportedOperation(node: String, op: String, supported: [String])
  /// The op is known but this use of it is not (an attribute value, an
  /// input that is not a constant, a layout the engine cannot follow).
  case unsupportedNode(node: String, op: String, reason: String)
  /// The graph's inputs or outputs are not what the engine runs: one
  /// float input of fixed per-sample shape, one output.
  case unsupportedGraph(reason: String)
  /// An engine node that `ONNXModel(exporting:)` cannot write as ONNX.
  case unexportableNode(node: String, kind: String, reason: String)

  public var description: String {
    switch self {
    case .corrupt(let reason):
      return "not a readable ONNX model: \(reason)"
    case .noGraph:
      return "ONNX model holds no graph"
    case .unsupportedOpset(let found, let supported) where found > supported.upperBound:
      return "ONNX opset \(found) is newer than convviz reads "
        + "(\(supported.lowerBound) to \(supported.upperBound)); export with an older opset"
    case .unsupportedOpset(let found, let supported):
      return "ONNX opset \(found) is not supported "
        + "(\(supported.lowerBound) to \(supported.upperBound))"
    case .missingTensor(let node, let tensor):
      return "node '\(node)' reads tensor '\(tensor)', which no initializer, input or node "
        + "provides"
    case .duplicateTensor(let name):
      return "tensor '\(name)' is defined twice"
    case .cycle(let nodes):
      let shown = nodes.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
      return "graph has a cycle through nodes \(shown)\(nodes.count > 5 ? ", …" : "")"
    case .sizeMismatch(let tensor, let declared, let found):
      return "tensor '\(tensor)' declares \(declared) elements but holds \(found)"
    case .invalidDimensions(let tensor, let dims):
      return "tensor '\(tensor)' has invalid dimensions \(dims)"
    case .unsupportedDataType(let tensor, let type):
      return "tensor '\(tensor)' holds \(type) elements, which convviz does not read"
    case .externalData(let tensor, let reason):
      return "tensor '\(tensor)': external data \(reason)"
    case .tensorTooLarge(let tensor, let bytes, let limit):
      return "tensor '\(tensor)' needs \(bytes) bytes, more than the limit of \(limit)"
    case .unsupportedOperation(let node, let op, let supported):
      return "node '\(node)' has op \(op), which convviz cannot run (it runs "
        + supported.joined(separator: ", ") + ")"
    case .unsupportedNode(let node, let op, let reason):
      return "node '\(node)' (\(op)): \(reason), which convviz cannot run"
    case .unsupportedGraph(let reason):
      return "graph \(reason), which convviz cannot run"
    case .unexportableNode(let node, let kind, let reason):
      return "node '\(node)' (\(kind)) cannot be written as ONNX: \(reason)"
    }
  }
}
