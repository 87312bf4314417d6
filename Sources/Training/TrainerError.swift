import Engine
import ModelFormats
import Tensors

/// Why training, evaluation or resuming could not proceed.
public enum TrainerError: Error, Equatable, CustomStringConvertible {
  /// The images do not have the model's input shape, (C, H, W).
  case inputShapeMismatch(expected: FeatureShape, found: Shape)
  /// The model ends in images, not one score per class.
  case outputNotClasses(FeatureShape)
  /// A label is not a class of the model's output.
  case labelOutOfRange(index: Int, label: Int, classCount: Int)
  /// Too few samples left for training after the validation split.
  case noTrainingData(samples: Int, validationSplit: Double)
  /// The model file has no checkpoint section (a final model, not a checkpoint).
  case notACheckpoint(path: String)
  /// The checkpoint's state does not fit its own model.
  case checkpointMismatch(path: String, reason: String)
  /// Reading or writing a checkpoint failed.
  case modelFile(ModelFileError)

  public var description: String {
    switch self {
    case .inputShapeMismatch(let expected, let found):
      let dims = found.dims
      let shown = dims.count == 3 ? "(None, \(dims[1]), \(dims[2]), \(dims[0]))" : "\(found)"
      return "images have shape \(shown) but the model expects \(expected); "
        + "pick a model whose input matches the data"
    case .outputNotClasses(let shape):
      return "the model's output \(shape) is not one score per class; "
        + "end the spec with `flatten` and a `dense` layer"
    case .labelOutOfRange(let index, let label, let classCount):
      return "sample \(index) has label \(label) but the model has \(classCount) classes"
    case .noTrainingData(let samples, let split):
      return "\(samples) samples leave nothing to train on after validation split \(split)"
    case .notACheckpoint(let path):
      return "\(path): not a checkpoint (no optimizer state); "
        + "resume from the checkpoint file written during training"
    case .checkpointMismatch(let path, let reason):
      return "\(path): checkpoint cannot be resumed: \(reason)"
    case .modelFile(let error):
      return error.description
    }
  }
}
