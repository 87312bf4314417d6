import Files
import Tensors

/// An ONNX model as convviz sees it: the graph's nodes, inputs, outputs and
/// initializers (weights), the operator set, and the producer and metadata.
///
/// `read` checks what a model needs to be run before anything uses it:
/// the protobuf parses, the default-domain opset is one convviz reads
/// (`supportedOpsets`), every tensor a node reads exists, the nodes form
/// no cycle, and every initializer's data matches its dimensions.
/// Fields convviz does not know are skipped, so models with newer fields
/// still load. Whether convviz can run each op is the importer's question,
/// not the reader's. `write` stores the model atomically.
public struct ONNXModel: Equatable, Sendable {
  /// Default-domain operator sets convviz reads: 7 (the oldest PyTorch and
  /// tf2onnx still write) to 21.
  public static let supportedOpsets = 7...21
  /// The IR version `encoded()` writes (ONNX 1.10, opsets up to 15 and
  /// readable by every onnxruntime since 1.10).
  public static let defaultIRVersion = 8
  /// Files larger than this are refused before they are read (protobuf's
  /// own 2 GiB message limit; larger models keep weights in external data).
  public static let maximumFileSize = 1 << 31
  /// One tensor larger than this is refused before it is allocated.
  public static let maximumTensorBytes = 1 << 33

  public var irVersion: Int
  /// The version of the default ("" or "ai.onnx") operator set.
  public var opset: Int
  /// Operator sets of other domains, by domain.
  public var otherOpsets: [String: Int]
  public var producerName: String
  public var producerVersion: String
  public var docString: String
  /// The model's `metadata_props`, in file order.
  public var metadata: [ONNXMetadataEntry]
  public var graph: ONNXGraph

  public init(
    irVersion: Int = defaultIRVersion, opset: Int, otherOpsets: [String: Int] = [:],
    producerName: String = "convviz", producerVersion: String = "", docString: String = "",
    metadata: [ONNXMetadataEntry] = [], graph: ONNXGraph
  ) {
    self.irVersion = irVersion
    self.opset = opset
    self.otherOpsets = otherOpsets
    self.producerName = producerName
    self.producerVersion = producerVersion
    self.docString = docString
    self.metadata = metadata
    self.graph = graph
  }

  /// Whether `prefix`, a file's first bytes, looks like an ONNX model: a
  /// ModelProto starts with its ir_version field (tag 0x08), which no
  /// model.bin, spec text or image does.
  public static func looksLikeONNX(_ prefix: some Collection<UInt8>) -> Bool {
    prefix.first == 0x08
  }

  /// The value of metadata entry `key`, if present.
  public func metadataValue(_ key: String) -> String? {
    metadata.first { $0.key == key }?.value
  }
}

/// One `metadata_props` entry.
public struct ONNXMetadataEntry: Equatable, Sendable {
  public var key: String
  public var value: String

  public init(_ key: String, _ value: String) {
    self.key = key
    self.value = value
  }
}

/// An ONNX graph: nodes in execution order over named tensors.
public struct ONNXGraph: Equatable, Sendable {
  public var name: String
  /// Declared inputs; older files list the initializers here too
  /// (`dataInputs` leaves them out).
  public var inputs: [ONNXValueInfo]
  public var outputs: [ONNXValueInfo]
  public var nodes: [ONNXNode]
  public var initializers: [ONNXTensor]

  public init(
    name: String, inputs: [ONNXValueInfo], outputs: [ONNXValueInfo], nodes: [ONNXNode],
    initializers: [ONNXTensor]
  ) {
    self.name = name
    self.inputs = inputs
    self.outputs = outputs
    self.nodes = nodes
    self.initializers = initializers
  }

  /// The inputs the caller must feed: those no initializer provides.
  public var dataInputs: [ONNXValueInfo] {
    let constant = Set(initializers.map(\.name))
    return inputs.filter { !constant.contains($0.name) }
  }

  /// The initializer named `name`.
  public func initializer(named name: String) -> ONNXTensor? {
    initializers.first { $0.name == name }
  }
}

/// A graph input or output: name, element type and shape.
public struct ONNXValueInfo: Equatable, Sendable {
  /// One axis: a number, a symbolic name ("batch"), or unknown.
  public enum Dimension: Equatable, Sendable {
    case fixed(Int)
    case named(String)
    case unknown
  }

  public var name: String
  public var elementType: ONNXDataType
  /// nil when the file gives no shape (any rank).
  public var dims: [Dimension]?

  public init(name: String, elementType: ONNXDataType = .float, dims: [Dimension]?) {
    self.name = name
    self.elementType = elementType
    self.dims = dims
  }
}

/// One operator application.
public struct ONNXNode: Equatable, Sendable {
  public var name: String
  public var opType: String
  /// "" for the default operator set.
  public var domain: String
  /// Tensor names; "" marks an optional input left out.
  public var inputs: [String]
  public var outputs: [String]
  public var attributes: [ONNXAttribute]

  public init(
    name: String, opType: String, domain: String = "", inputs: [String], outputs: [String],
    attributes: [ONNXAttribute] = []
  ) {
    self.name = name
    self.opType = opType
    self.domain = domain
    self.inputs = inputs
    self.outputs = outputs
    self.attributes = attributes
  }

  /// The attribute named `name`.
  public func attribute(_ name: String) -> ONNXAttribute.Value? {
    attributes.first { $0.name == name }?.value
  }
}

/// A node attribute.
public struct ONNXAttribute: Equatable, Sendable {
  public enum Value: Equatable, Sendable {
    case float(Float)
    case int(Int)
    case string(String)
    case tensor(ONNXTensor)
    case floats([Float])
    case ints([Int])
    case strings([String])
    /// A kind convviz keeps only by name (graphs, sparse tensors, types);
    /// not written back.
    case other(kind: String)
  }

  public var name: String
  public var value: Value

  public init(_ name: String, _ value: Value) {
    self.name = name
    self.value = value
  }
}

/// An initializer or constant: float elements as a `Tensor` (float16 and
/// double converted on load), integer elements as `Int64`.
public struct ONNXTensor: Equatable, Sendable {
  public enum Elements: Equatable, Sendable {
    /// Shape equal to the tensor's `dims`.
    case float(Tensor)
    case int64([Int64])
  }

  public var name: String
  public var dims: [Int]
  public var elements: Elements

  /// A float tensor named `name` with `tensor`'s shape.
  public init(name: String, _ tensor: Tensor) {
    self.name = name
    self.dims = tensor.shape.dims
    self.elements = .float(tensor)
  }

  /// An integer tensor; `values.count` must be the product of `dims`.
  public init(name: String, dims: [Int], int64 values: [Int64]) {
    precondition(values.count == dims.reduce(1, *), "values do not fill the dimensions")
    self.name = name
    self.dims = dims
    self.elements = .int64(values)
  }

  /// The float elements, nil for an integer tensor.
  public var floatTensor: Tensor? {
    if case .float(let tensor) = elements { return tensor }
    return nil
  }

  /// The integer elements, nil for a float tensor.
  public var int64Values: [Int64]? {
    if case .int64(let values) = elements { return values }
    return nil
  }
}

/// The element types of ONNX's `TensorProto.DataType`, with their names.
public enum ONNXDataType: Int32, Equatable, Sendable, CustomStringConvertible {
  case undefined = 0, float, uint8, int8, uint16, int16, int32, int64, string, bool, float16
  case double, uint32, uint64, complex64, complex128, bfloat16

  /// `TensorProto.DataType` code `code`'s name, also for codes this enum
  /// does not list.
  static func name(of code: Int32) -> String {
    ONNXDataType(rawValue: code)?.description ?? "data type \(code)"
  }

  public var description: String {
    switch self {
    case .undefined: return "undefined"
    case .float: return "float32"
    case .uint8: return "uint8"
    case .int8: return "int8"
    case .uint16: return "uint16"
    case .int16: return "int16"
    case .int32: return "int32"
    case .int64: return "int64"
    case .string: return "string"
    case .bool: return "bool"
    case .float16: return "float16"
    case .double: return "float64"
    case .uint32: return "uint32"
    case .uint64: return "uint64"
    case .complex64: return "complex64"
    case .complex128: return "complex128"
    case .bfloat16: return "bfloat16"
    }
  }
}
