/// What is wrong with a Keras file, carried by `ModelFileError.keras` with
/// the file's path. Each case names the layer or weight concerned.
public enum KerasProblem: Error, Equatable, Sendable, CustomStringConvertible {
  /// A zip that is not a Keras model (no `config.json` and weights).
  case notKerasArchive(reason: String)
  /// The zip itself cannot be read (truncated, corrupt, bad checksum).
  case corruptArchive(reason: String)
  /// libhdf5 cannot read the weights file, in its words.
  case corruptHDF5(reason: String)
  /// The architecture (config.json or `model_config`) is not what Keras
  /// writes.
  case invalidConfig(reason: String)
  /// A weights-only file (`save_weights`) opened without an architecture.
  case weightsWithoutArchitecture
  /// A layer class the engine has no operation for.
  case unsupportedLayer(layer: String, className: String, supported: [String])
  /// A supported class with a setting the engine cannot follow.
  case unsupportedSetting(layer: String, className: String, reason: String)
  /// The architecture needs a weight the file does not hold.
  case missingWeight(layer: String, weight: String)
  /// The architecture (a spec) has a layer with weights the file lacks.
  case missingLayer(layer: String, stored: [String])
  /// A stored weight whose shape disagrees with its layer.
  case weightShape(layer: String, weight: String, expected: [Int], found: [Int])
  /// More bytes than convviz will allocate for one tensor or entry.
  case tooLarge(what: String, bytes: Int, limit: Int)
  /// libhdf5, which convviz opens when it first reads an HDF5 file, is
  /// missing or unusable; `reason` says which library and why.
  case libraryUnavailable(reason: String)
  /// Only a Sequential model becomes a convviz model spec.
  case notSequential(className: String)
  /// The graph as a whole is not what the engine runs (several inputs or
  /// outputs, a nested model, a layer applied twice).
  case unsupportedModel(reason: String)

  public var description: String {
    switch self {
    case .notKerasArchive(let reason):
      return "not a Keras model: \(reason)"
    case .corruptArchive(let reason):
      return "not a readable zip (.keras) file: \(reason)"
    case .corruptHDF5(let reason):
      return "not a readable HDF5 (.h5) file: \(reason)"
    case .invalidConfig(let reason):
      return "Keras model architecture is invalid: \(reason)"
    case .weightsWithoutArchitecture:
      return "holds Keras weights without an architecture (saved by save_weights); "
        + "name one with --architecture PRESET|SPEC"
    case .unsupportedLayer(let layer, let className, let supported):
      return "layer '\(layer)' is a \(className), which convviz cannot run (it runs "
        + supported.joined(separator: ", ") + ")"
    case .unsupportedSetting(let layer, let className, let reason):
      return "layer '\(layer)' (\(className)): \(reason), which convviz cannot run"
    case .missingWeight(let layer, let weight):
      return "layer '\(layer)' needs weight '\(weight)', which the file does not hold"
    case .missingLayer(let layer, let stored):
      return "the architecture's layer '\(layer)' has no weights in the file (it holds "
        + (stored.isEmpty ? "none" : stored.joined(separator: ", ")) + ")"
    case .weightShape(let layer, let weight, let expected, let found):
      return "layer '\(layer)' weight '\(weight)' has shape \(found), the layer needs \(expected)"
    case .tooLarge(let what, let bytes, let limit):
      return "\(what) needs \(bytes) bytes, more than the limit of \(limit)"
    case .libraryUnavailable(let reason):
      return reason
    case .notSequential(let className):
      return "Keras model is \(className); only a Sequential model becomes a convviz model spec"
    case .unsupportedModel(let reason):
      return "Keras model \(reason), which convviz cannot run"
    }
  }
}
