import Foundation

/// A Keras model's architecture as its config JSON gives it: the layers in
/// order, each with its class, settings and the layers it reads. Read from
/// a `.keras` file's `config.json` (Keras 3) or a legacy `.h5` file's
/// `model_config` attribute (Keras 2 and 3), Sequential or Functional.
public struct KerasArchitecture: Sendable {
  /// One layer: `className` as Keras names it ("Conv2D"), its `config`
  /// object, and the layers whose (first) output it reads.
  public struct Layer: Sendable {
    public var name: String
    public var className: String
    var config: [String: JSONValue]
    public var inputs: [String]
  }

  /// "Sequential" or "Functional".
  public var className: String
  public var name: String
  public var layers: [Layer]
  /// The layers whose outputs are the model's inputs and outputs.
  public var inputs: [String]
  public var outputs: [String]
  /// A Sequential model's input shape with the batch axis, when no
  /// InputLayer gives it (Keras 2 keeps it on the first layer or the model).
  var sequentialInputShape: [Int?]?

  /// Parses a config document.
  init(json bytes: [UInt8]) throws(KerasProblem) {
    let value: JSONValue
    do {
      value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    } catch {
      throw .invalidConfig(reason: "not JSON (\(Self.shortDescription(error)))")
    }
    try self.init(value)
  }

  init(_ document: JSONValue) throws(KerasProblem) {
    guard let className = document["class_name"]?.string else {
      throw .invalidConfig(reason: "no class_name")
    }
    self.className = className
    let config = document["config"]
    name = config?["name"]?.string ?? ""
    switch className {
    case "Sequential":
      // Keras 2.0–2.1 wrote the layer list as the config itself.
      guard let list = config?["layers"]?.array ?? config?.array else {
        throw .invalidConfig(reason: "Sequential model without a layer list")
      }
      var layers: [Layer] = []
      for item in list {
        var layer = try Self.layer(item)
        if let previous = layers.last { layer.inputs = [previous.name] }
        layers.append(layer)
      }
      guard let first = layers.first, let last = layers.last else {
        throw .invalidConfig(reason: "Sequential model without layers")
      }
      self.layers = layers
      inputs = first.className == "InputLayer" ? [first.name] : []
      outputs = [last.name]
      sequentialInputShape =
        Self.shape(first.config["batch_input_shape"])
        ?? Self.shape(config?["build_input_shape"])
        ?? Self.shape(document["build_config"]?["input_shape"])
    case "Functional", "Model":
      guard let list = config?["layers"]?.array else {
        throw .invalidConfig(reason: "\(className) model without a layer list")
      }
      var layers: [Layer] = []
      for item in list {
        var layer = try Self.layer(item)
        layer.inputs = try Self.inbound(item["inbound_nodes"], layer: layer.name)
        layers.append(layer)
      }
      self.layers = layers
      inputs = try Self.endpoints(config?["input_layers"], "input_layers")
      outputs = try Self.endpoints(config?["output_layers"], "output_layers")
    default:
      throw .unsupportedModel(
        reason: "is a \(className) (a subclassed model without a layer graph); "
          + "save a Sequential or Functional model")
    }
    let names = layers.map(\.name)
    guard Set(names).count == names.count else {
      throw .invalidConfig(reason: "two layers share a name")
    }
  }

  /// A layer's class, name and config; inputs are filled in by the caller.
  private static func layer(_ item: JSONValue) throws(KerasProblem) -> Layer {
    guard let className = item["class_name"]?.string, let config = item["config"]?.object else {
      throw .invalidConfig(reason: "a layer without class_name and config")
    }
    guard let name = item["name"]?.string ?? config["name"]?.string, !name.isEmpty else {
      throw .invalidConfig(reason: "a \(className) layer without a name")
    }
    return Layer(name: name, className: className, config: config, inputs: [])
  }

  /// The layers a Functional layer reads: Keras 3 writes each call as
  /// {"args": [...tensors with keras_history...]}, Keras 2 as a list of
  /// [layer, node index, tensor index, kwargs]. A layer called twice
  /// (shared weights) or reading a second output is refused.
  private static func inbound(_ nodes: JSONValue?, layer: String) throws(KerasProblem) -> [String] {
    guard let calls = nodes?.array, !calls.isEmpty else { return [] }
    guard calls.count == 1 else {
      throw .unsupportedModel(reason: "calls layer '\(layer)' \(calls.count) times (shared layer)")
    }
    var references: [[JSONValue]] = []
    if let args = calls[0]["args"] {
      collectHistories(args, into: &references)
    } else if let list = calls[0].array {
      references = list.compactMap(\.array)
    }
    var names: [String] = []
    for reference in references {
      guard reference.count >= 3, let name = reference[0].string,
        let node = reference[1].number, let tensor = reference[2].number
      else { throw .invalidConfig(reason: "layer '\(layer)' has an unreadable input reference") }
      guard node == 0, tensor == 0 else {
        throw .unsupportedModel(
          reason:
            "has layer '\(layer)' read output \(Int(tensor)) of call \(Int(node)) of '\(name)'")
      }
      names.append(name)
    }
    return names
  }

  /// Every `keras_history` under `value`, in document order.
  private static func collectHistories(_ value: JSONValue, into list: inout [[JSONValue]]) {
    switch value {
    case .object(let object):
      if let history = object["config"]?["keras_history"]?.array {
        list.append(history)
        return
      }
      for key in object.keys.sorted() { collectHistories(object[key]!, into: &list) }
    case .array(let items):
      for item in items { collectHistories(item, into: &list) }
    default:
      break
    }
  }

  /// `input_layers`/`output_layers`: [name, 0, 0] or a list of them.
  private static func endpoints(_ value: JSONValue?, _ key: String) throws(KerasProblem) -> [String]
  {
    guard let list = value?.array else { throw .invalidConfig(reason: "no \(key)") }
    if let name = list.first?.string { return [name] }
    let names = list.compactMap { $0.array?.first?.string }
    guard names.count == list.count, !names.isEmpty else {
      throw .invalidConfig(reason: "unreadable \(key)")
    }
    return names
  }

  /// A shape list such as [null, 28, 28, 1]; nil when `value` is not one.
  static func shape(_ value: JSONValue?) -> [Int?]? {
    guard let list = value?.array, !list.isEmpty else { return nil }
    var dims: [Int?] = []
    for item in list {
      switch item {
      case .null: dims.append(nil)
      case .number(let n) where n >= 0 && n <= Double(1 << 40) && n == n.rounded():
        dims.append(Int(n))
      default: return nil
      }
    }
    return dims
  }

  private static func shortDescription(_ error: Error) -> String {
    if case DecodingError.dataCorrupted(let context) = error {
      return context.underlyingError.map { "\($0.localizedDescription)" }
        ?? context.debugDescription
    }
    return "\(error)"
  }
}

/// A JSON document, as Keras configs are read: enough structure to walk
/// without a schema.
enum JSONValue: Decodable, Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  subscript(key: String) -> JSONValue? {
    if case .object(let object) = self { return object[key] }
    return nil
  }

  var string: String? {
    if case .string(let value) = self { return value }
    return nil
  }

  var number: Double? {
    if case .number(let value) = self { return value }
    return nil
  }

  var bool: Bool? {
    if case .bool(let value) = self { return value }
    return nil
  }

  var array: [JSONValue]? {
    if case .array(let value) = self { return value }
    return nil
  }

  var object: [String: JSONValue]? {
    if case .object(let value) = self { return value }
    return nil
  }
}

extension JSONValue: CustomStringConvertible {
  /// The value as JSON text, whole numbers without a fraction, for error
  /// messages (`axis 1`, `dims [2, 2, 3]`).
  var description: String {
    switch self {
    case .null: return "null"
    case .bool(let value): return value ? "true" : "false"
    case .number(let value):
      if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
      return String(value)
    case .string(let value): return "\"\(value)\""
    case .array(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
    case .object(let object):
      return "{" + object.keys.sorted().map { "\"\($0)\": \(object[$0]!)" }.joined(separator: ", ")
        + "}"
    }
  }
}
