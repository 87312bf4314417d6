import ArgumentParser
import Engine
import Files
import ModelFormats
import Training

/// `convviz summary MODEL`: the Keras-style layer table of a preset, a spec
/// file or a trained model file.
struct Summary: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "summary",
    abstract: "Print a model's layers, output shapes and parameter counts.",
    discussion: """
      MODEL is a preset (\(Preset.allCases.map(\.rawValue).joined(separator: ", "))), \
      a model spec file (see docs/model-spec.md), a model file written by `convviz train`, \
      or an ONNX or Keras (.keras, .h5) model (its graph, node by node, NCHW shapes). \
      The # column numbers the layers from 0, as --layer of dump-weights and featuremaps takes them.
      """)

  @Argument(
    help: "A preset name, a model spec file, a trained model file, or an ONNX or Keras model.")
  var model: String

  @OptionGroup var memory: MemoryOptions
  @OptionGroup var architecture: ArchitectureOption

  func validate() throws { try ModelArgument.checkName(model) }

  func run() throws {
    if var onnx = try ModelArgument.readONNX(model) {
      let network = try onnx.takeNetwork(path: model)
      Terminal.sayLines(GraphSummary(network).render(title: Path.baseName(of: model)))
      Terminal.say(
        "ONNX opset \(onnx.opset), IR version \(onnx.irVersion), producer "
          + Terminal.escaped(
            [onnx.producerName, onnx.producerVersion].filter { !$0.isEmpty }.joined(separator: " "))
      )
      return
    }
    if let keras = try ModelArgument.readKeras(model, memory: memory) {
      let loaded = try ModelArgument.loadKeras(
        keras, path: model, architecture: architecture.architecture, memory: memory)
      let title = Path.baseName(of: model)
      if let spec = loaded.spec {
        let summary = ModelSummary(spec)
        Terminal.sayLines(Self.numbered(summary.render(title: title), rows: summary.rows))
      } else {
        Terminal.sayLines(GraphSummary(loaded.network).render(title: title))
      }
      let kind = keras.architecture?.className ?? "weights with the architecture of a spec"
      Terminal.say(
        "\(keras.format.rawValue), \(kind)"
          + (keras.kerasVersion.map { ", saved by Keras " + Terminal.escaped($0) } ?? ""))
      return
    }
    if architecture.architecture != nil {
      throw CommandFailure.usage("--architecture is for weights-only Keras files (.h5)")
    }
    let resolved = try ModelArgument.resolve(model, memory: memory)
    let summary = ModelSummary(resolved.spec)
    Terminal.sayLines(Self.numbered(summary.render(title: resolved.title), rows: summary.rows))
    if case .modelFile(_, let file) = resolved {
      for line in Self.trainingLines(file.metadata).split(separator: "\n") {
        Terminal.say(String(line))
      }
    }
  }

  /// The table with a first column of layer numbers, from 0: what `--layer`
  /// takes. Rows are found by their layer's name, so a table that reads
  /// otherwise is left as it is.
  static func numbered(_ table: String, rows: [ModelSummary.Row]) -> String {
    var lines = table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let width = max(String(max(rows.count - 1, 0)).count, 1)
    func cell(_ text: String) -> String {
      String(repeating: " ", count: max(width - text.count, 0)) + text + "  "
    }
    guard let header = lines.firstIndex(where: { $0.hasPrefix("Layer (type)") }),
      header + 1 + rows.count < lines.count,
      zip(rows, lines[(header + 2)...]).allSatisfy({ $1.hasPrefix("\($0.name) (\($0.type))") })
    else { return table }
    for i in lines.indices {
      if i == header {
        lines[i] = cell("#") + lines[i]
      } else if i > header + 1 && i < header + 2 + rows.count {
        lines[i] = cell(String(i - header - 2)) + lines[i]
      } else if lines[i].hasPrefix("─") {
        lines[i] += String(repeating: "─", count: width + 2)
      }
    }
    return lines.joined(separator: "\n")
  }

  /// How a model file's weights were trained, and its last epoch's metrics.
  static func trainingLines(_ metadata: TrainingMetadata) -> String {
    var lines = [
      "Trained: \(plural(metadata.epochsCompleted, "epoch")) on \(metadata.dataset), batch size "
        + "\(metadata.batchSize), validation split \(metadata.validationSplit), "
        + "seed \(metadata.seed)",
      "Optimizer: \(metadata.optimizer)",
    ]
    if !metadata.classNames.isEmpty {
      lines.append("Classes: " + metadata.classNames.joined(separator: ", "))
    }
    if let last = metadata.history.last {
      var metrics =
        "Epoch \(last.epoch): loss \(TextFormat.fixed(last.loss, 4)), accuracy "
        + TextFormat.fixed(last.accuracy, 4)
      if let loss = last.validationLoss, let accuracy = last.validationAccuracy {
        metrics +=
          ", val_loss \(TextFormat.fixed(loss, 4)), val_accuracy "
          + TextFormat.fixed(accuracy, 4)
      }
      lines.append(metrics)
    }
    return lines.joined(separator: "\n")
  }
}
