import ArgumentParser
import Engine
import ModelFormats
import Training

/// `convviz summary MODEL`: the Keras-style layer table of a preset, a spec
/// file or a trained model file.
struct Summary: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print a model's layers, output shapes and parameter counts.",
    discussion: """
      MODEL is a preset (\(Preset.allCases.map(\.rawValue).joined(separator: ", "))), \
      a model spec file (see docs/model-spec.md) or a model file written by `convviz train`.
      """)

  @Argument(help: "A preset name, a model spec file, or a trained model file.")
  var model: String

  func validate() throws { try ModelArgument.checkName(model) }

  func run() throws {
    let resolved = try ModelArgument.resolve(model)
    print(ModelSummary(resolved.spec).render(title: resolved.title), terminator: "")
    if case .modelFile(_, let file) = resolved { print(Self.trainingLines(file.metadata)) }
  }

  /// How a model file's weights were trained, and its last epoch's metrics.
  static func trainingLines(_ metadata: TrainingMetadata) -> String {
    var lines = [
      "Trained: \(metadata.epochsCompleted) epochs on \(metadata.dataset), batch size "
        + "\(metadata.batchSize), validation split \(metadata.validationSplit), "
        + "seed \(metadata.seed)",
      "Optimizer: \(metadata.optimizer)",
    ]
    if !metadata.classNames.isEmpty {
      lines.append("Classes: " + metadata.classNames.joined(separator: ", "))
    }
    if let last = metadata.history.last {
      var metrics =
        "Epoch \(last.epoch): loss \(ProgressBar.fixed(last.loss, 4)), accuracy "
        + ProgressBar.fixed(last.accuracy, 4)
      if let loss = last.validationLoss, let accuracy = last.validationAccuracy {
        metrics +=
          ", val_loss \(ProgressBar.fixed(loss, 4)), val_accuracy "
          + ProgressBar.fixed(accuracy, 4)
      }
      lines.append(metrics)
    }
    return lines.joined(separator: "\n")
  }
}
