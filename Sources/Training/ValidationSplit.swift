import Datasets

/// Keras's `validation_split`: the last fraction of the training data,
/// taken before any shuffling, is held out (image folders are shuffled when
/// they are loaded, so every class is in both parts).
public enum ValidationSplit {
  /// How many of `samples` are trained on: Int(samples · (1 − fraction)),
  /// the cut Keras's `fit` makes; the rest validate.
  public static func trainingCount(samples: Int, fraction: Double) -> Int {
    precondition(fraction >= 0 && fraction < 1, "validation fraction \(fraction) outside [0, 1)")
    return Int(Double(samples) * (1 - fraction))
  }
}

extension Dataset {
  /// The training part and the held-out last `fraction` (see `ValidationSplit`).
  public func splitValidation(fraction: Double) -> (training: Dataset, validation: Dataset) {
    let cut = ValidationSplit.trainingCount(samples: count, fraction: fraction)
    return (slice(0..<cut), slice(cut..<count))
  }
}
