import Foundation
import ModelFormats

/// How the learning rate changes from epoch to epoch: the `--lr-schedule`
/// option. The optimizer's configured rate is the base rate r₀; epoch e
/// (1-based) trains with
///
/// - `constant`: r₀;
/// - `step:N:F`: r₀ · F^⌊(e − 1) / N⌋ (PyTorch's `StepLR`);
/// - `cosine[:T]`: r₀ · ½(1 + cos(π · min(e − 1, T − 1) / T)) (PyTorch's
///   `CosineAnnealingLR` down to 0, whose last value holds after T epochs);
///   T is the run's epoch count when not given, fixed when training starts;
/// - `plateau[:P:F]`: Keras's `ReduceLROnPlateau(monitor="val_loss",
///   patience=P, factor=F, min_delta=1e-4)`, defaults P = 10, F = 0.1: the
///   rate is multiplied by F after P epochs whose validation loss did not
///   fall more than 1e-4 below the best so far.
///
/// Every rate is a function of the epoch and the validation losses before
/// it, which checkpoints store in their history; so a resumed run
/// recomputes the schedule's state exactly, with nothing else saved.
public enum LearningRateSchedule: Equatable, Sendable, CustomStringConvertible {
  case constant
  case step(epochs: Int, factor: Double)
  /// `epochs` nil until the trainer fixes it to the run's length.
  case cosine(epochs: Int?)
  case plateau(patience: Int, factor: Double)

  /// Keras's `ReduceLROnPlateau` defaults and improvement threshold.
  public static let plateauPatience = 10
  public static let plateauFactor = 0.1
  static let plateauMinimumDelta = 1e-4

  /// Parses `step:EPOCHS:FACTOR`, `cosine[:EPOCHS]`,
  /// `plateau[:PATIENCE:FACTOR]` or `constant`.
  public init(parsing text: String) throws(TrainerError) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    func invalid(_ reason: String) -> TrainerError { .invalidSchedule(text, reason: reason) }
    func count(_ value: String, _ what: String) throws(TrainerError) -> Int {
      guard let n = Int(value), n >= 1, n <= 1_000_000 else {
        throw invalid("\(what) must be a whole number from 1 to 1000000, not '\(value)'")
      }
      return n
    }
    func factor(_ value: String) throws(TrainerError) -> Double {
      guard let f = Double(value), f.isFinite, f > 0, f < 1 else {
        throw invalid("the factor must be above 0 and below 1, not '\(value)'")
      }
      return f
    }
    switch (parts[0], parts.count) {
    case ("constant", 1): self = .constant
    case ("step", 3):
      self = .step(epochs: try count(parts[1], "EPOCHS"), factor: try factor(parts[2]))
    case ("cosine", 1): self = .cosine(epochs: nil)
    case ("cosine", 2): self = .cosine(epochs: try count(parts[1], "EPOCHS"))
    case ("plateau", 1): self = .plateau(patience: Self.plateauPatience, factor: Self.plateauFactor)
    case ("plateau", 3):
      self = .plateau(patience: try count(parts[1], "PATIENCE"), factor: try factor(parts[2]))
    default:
      throw invalid("use step:EPOCHS:FACTOR, cosine[:EPOCHS] or plateau[:PATIENCE:FACTOR]")
    }
  }

  /// The canonical text, which `init(parsing:)` reads back.
  public var description: String {
    switch self {
    case .constant: return "constant"
    case .step(let epochs, let factor): return "step:\(epochs):\(factor)"
    case .cosine(let epochs): return epochs.map { "cosine:\($0)" } ?? "cosine"
    case .plateau(let patience, let factor): return "plateau:\(patience):\(factor)"
    }
  }

  /// Whether the schedule reads validation losses.
  public var needsValidation: Bool {
    if case .plateau = self { return true }
    return false
  }

  /// The schedule with a cosine period fixed to `epochs` when it had none.
  func fixingPeriod(_ epochs: Int) -> LearningRateSchedule {
    if case .cosine(nil) = self { return .cosine(epochs: max(epochs, 1)) }
    return self
  }

  /// `history` with each epoch's rate, recomputed from the schedule (so
  /// that epochs read back from a checkpoint get theirs too): what the
  /// history CSV prints.
  public func addingRates(to history: [EpochRecord], base: Float) -> [EpochRecord] {
    history.map { record in
      var record = record
      record.learningRate = learningRate(epoch: record.epoch, base: base, history: history)
      return record
    }
  }

  /// The rate for epoch `epoch` (1-based) given the base rate and the
  /// records of the epochs before it (at least `epoch − 1` of them).
  public func learningRate(epoch: Int, base: Float, history: [EpochRecord]) -> Float {
    precondition(epoch >= 1, "epochs are 1-based")
    switch self {
    case .constant:
      return base
    case .step(let epochs, let factor):
      return Float(Double(base) * pow(factor, Double((epoch - 1) / epochs)))
    case .cosine(let period):
      let t = Double(period ?? epoch)
      let e = Double(min(epoch - 1, Int(t) - 1))
      return Float(Double(base) * 0.5 * (1 + cos(Double.pi * e / t)))
    case .plateau(let patience, let factor):
      // Keras's ReduceLROnPlateau replayed over the earlier epochs.
      var rate = Double(base)
      var best = Double.infinity
      var wait = 0
      for record in history.prefix(epoch - 1) {
        guard let loss = record.validationLoss else { continue }
        if loss < best - Self.plateauMinimumDelta {
          best = loss
          wait = 0
        } else {
          wait += 1
          if wait >= patience {
            // Keras reads the rate back from a float32 variable.
            rate = Double(Float(rate * factor))
            wait = 0
          }
        }
      }
      return Float(rate)
    }
  }
}
