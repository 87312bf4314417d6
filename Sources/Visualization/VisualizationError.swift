import AtomicFiles

/// Why a visualisation could not be made or written.
public enum VisualizationError: Error, CustomStringConvertible {
  /// A file could not be written (the destination is unchanged).
  case cannotWrite(FileWriteError)
  /// The requested layer does not exist.
  case noSuchLayer(index: Int, layerCount: Int)
  /// The requested layer has the wrong kind for this picture.
  case wrongLayerKind(index: Int, kind: String, expected: String)
  /// The model has no layer of a kind the picture needs.
  case noLayer(kind: String)
  /// An image could not be encoded or decoded.
  case image(path: String, reason: String)

  public var description: String {
    switch self {
    case .cannotWrite(let error):
      return error.description
    case .noSuchLayer(let index, let count):
      return "layer \(index) does not exist: the model has layers 0…\(count - 1); see `convviz summary`"
    case .wrongLayerKind(let index, let kind, let expected):
      return "layer \(index) is \(kind), expected \(expected); see `convviz summary` for the layer list"
    case .noLayer(let kind):
      return "the model has no \(kind) layer"
    case .image(let path, let reason):
      return "\(path): \(reason)"
    }
  }
}
