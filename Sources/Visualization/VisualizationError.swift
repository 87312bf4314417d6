import Files
import ImageCodecs
import Training

/// Why a visualisation could not be made or written.
public enum VisualizationError: Error, CustomStringConvertible {
  /// A file could not be written (the destination is unchanged).
  case cannotWrite(FileError)
  /// The requested layer does not exist.
  case noSuchLayer(index: Int, layerCount: Int)
  /// The requested layer has the wrong kind for this picture.
  case wrongLayerKind(index: Int, kind: String, expected: String)
  /// The model has no layer of a kind the picture needs.
  case noLayer(kind: String)
  /// The model file lacks the weights of a layer its spec names.
  case missingWeights(layer: String)
  /// The image shrank below a layer's window on the way through the model.
  case inputTooSmall(layer: Int, width: Int, height: Int, window: String)
  /// An image could not be read, encoded or written.
  case codec(CodecError)
  /// The data to evaluate does not fit the model.
  case evaluation(TrainerError)

  public var description: String {
    switch self {
    case .cannotWrite(let error):
      return error.description
    case .noSuchLayer(let index, let count):
      return "layer \(index) does not exist: the model has layers 0…\(count - 1); "
        + "see `convviz summary`"
    case .wrongLayerKind(let index, let kind, let expected):
      return "layer \(index) is \(kind), expected \(expected); "
        + "see `convviz summary` for the layer list"
    case .noLayer(let kind):
      return "the model has no \(kind) layer"
    case .missingWeights(let layer):
      return "the model file has no weights for layer \(layer); "
        + "it may be damaged, retrain with `convviz train`"
    case .inputTooSmall(let layer, let width, let height, let window):
      return "the image is \(width)×\(height) at layer \(layer), smaller than its \(window) "
        + "window; use a larger image"
    case .codec(let error):
      return error.description
    case .evaluation(let error):
      return error.description
    }
  }
}
