import Engine
import Tensors

/// Why an explanation cannot be computed.
public enum ExplainError: Error, Equatable, Sendable, CustomStringConvertible {
  /// `--layer` names no tensor of the graph; `valid` lists the spatial ones.
  case noSuchLayer(String, valid: [String])
  /// The layer's output is not (C, H, W), so it has no map.
  case notSpatial(layer: String, shape: Shape, valid: [String])
  /// The model has no spatial layer to take a class activation map at.
  case noSpatialLayer
  /// A class index outside 0..<classCount.
  case classOutOfRange(Int, classCount: Int)
  /// A baseline whose shape is not the input's.
  case baselineShape(expected: Shape, found: Shape)
  /// A unit (channel) index outside 0..<unitCount of `layer`.
  case unitOutOfRange(Int, unitCount: Int, layer: String)
  /// The receptive field cannot be followed through node `node` (an op of
  /// kind `kind` that changes the spatial size in an unknown way).
  case unknownReceptiveField(node: String, kind: String)
  /// LAPACK reported failure `info` (an eigensolver that did not converge).
  case lapack(routine: String, info: Int)
  /// `method` (guided backpropagation) cannot pass node `node`, an op of
  /// kind `kind` without a guided rule (`Operation.hasGuidedRule`).
  case noGuidedRule(method: String, node: String, kind: String)
  /// The engine failed (out of memory, or the input does not fit).
  case engine(EngineError)

  public var description: String {
    switch self {
    case .noSuchLayer(let name, let valid):
      return "--layer \(name) is not a layer of the model; spatial layers: "
        + valid.joined(separator: ", ")
    case .notSpatial(let name, let shape, let valid):
      return "--layer \(name) has output \(shape), not (channels, height, width) maps; "
        + "spatial layers: " + valid.joined(separator: ", ")
    case .noSpatialLayer:
      return "the model has no layer with spatial (channels, height, width) output"
    case .classOutOfRange(let index, let count):
      return "--class \(index) is out of range: the model has classes 0…\(count - 1)"
    case .baselineShape(let expected, let found):
      return "--baseline is \(found), the model input is \(expected)"
    case .unitOutOfRange(let index, let count, let layer):
      return "--units \(index) is out of range: layer \(layer) has units 0…\(count - 1)"
    case .unknownReceptiveField(let node, let kind):
      return "cannot follow the receptive field through node \(node) (\(kind))"
    case .lapack(let routine, let info):
      return "LAPACK \(routine) failed (info \(info))"
    case .noGuidedRule(let method, let node, let kind):
      return "--method \(method) cannot pass node \(node) (\(kind)): guided backpropagation is "
        + "defined for ReLU, LeakyReLU, ReLU6/Clip and ops that do not rectify"
    case .engine(let error):
      return error.description
    }
  }
}
