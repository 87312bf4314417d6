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
  /// The network could not run (out of memory in a kernel).
  case engine(EngineError)
  /// The model's output size is not the data's number of classes.
  case classCountMismatch(modelOutputs: Int, dataClasses: [String])
  /// A checkpoint trained on other classes than the data has.
  case classNamesMismatch(model: [String], data: [String])
  /// Data classes (with samples) that the model does not know.
  case unknownClasses([String], samples: Int, modelClasses: [String])
  /// Optimizer hyper-parameters that are not finite or out of range.
  case invalidOptimizer(reason: String)
  /// An `--augment` text that does not parse or is out of range.
  case invalidAugmentation(String)
  /// A `--lr-schedule` text that does not parse or is out of range.
  case invalidSchedule(String, reason: String)
  /// An option that watches the validation loss, in a run without a
  /// validation split.
  case needsValidation(option: String)
  /// A loss or weight stopped being finite; `keptEpoch` epochs are what
  /// the checkpoint (if any) still holds.
  /// `batch` is nil when the damage was found only at the end of the epoch.
  case diverged(
    String, epoch: Int, batch: Int?, batches: Int, checkpoint: String?, keptEpoch: Int)

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
    case .engine(let error):
      return error.description
    case .classCountMismatch(let outputs, let classes):
      return "the model's last layer has \(outputs) outputs but the data has \(classes.count) "
        + "classes (\(listed(classes))); end the spec with `dense \(classes.count) softmax` "
        + "(presets size their last layer to the data)"
    case .classNamesMismatch(let model, let data):
      return "the model was trained on the classes \(listed(model)) but the data has "
        + "\(listed(data)); use the data it was trained on"
    case .unknownClasses(let names, let samples, let modelClasses):
      return "the data has classes the model does not know: \(listed(names)) "
        + "(\(samples) samples); the model's classes are \(listed(modelClasses)); "
        + "pass --ignore-unknown-classes to skip them, or --labels to rename the data's classes"
    case .invalidOptimizer(let reason):
      return "optimizer \(reason)"
    case .invalidAugmentation(let reason):
      return reason
    case .invalidSchedule(let text, let reason):
      return "learning-rate schedule '\(text)': \(reason)"
    case .needsValidation(let option):
      return "\(option) watches the validation loss; give a validation split above 0"
    case .diverged(let what, let epoch, let batch, let batches, let checkpoint, let kept):
      let saved =
        checkpoint.map { path in
          kept == 0
            ? "; nothing was saved to \(path)" : "; \(path) keeps epoch \(kept), the last good one"
        } ?? ""
      let when =
        batch.map { "at epoch \(epoch), batch \($0) of \(batches)" } ?? "during epoch \(epoch)"
      return "training diverged: \(what) \(when)" + saved + "; lower the learning rate"
    }
  }
}

/// Names joined by commas, at most 12 of them.
private func listed(_ names: [String]) -> String {
  let shown = names.prefix(12).joined(separator: ", ")
  return names.count > 12 ? shown + ", … (\(names.count) in all)" : shown
}
