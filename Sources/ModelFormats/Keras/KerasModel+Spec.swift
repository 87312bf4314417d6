import Engine
import Tensors

extension KerasModel {
  /// A Sequential Keras model as a convviz spec, row for row, where every
  /// layer is one a spec can write (Conv2D, Dense, `valid` pooling,
  /// Dropout, Flatten, Activation), so that it can be trained further or
  /// stored as a `model.bin`. Other models are refused, naming why.
  public func sequentialSpec() throws(KerasProblem) -> ModelSpec {
    guard let architecture else { throw .weightsWithoutArchitecture }
    guard architecture.className == "Sequential" else {
      throw .notSequential(className: architecture.className)
    }
    // Shapes, weights and settings are checked by the graph builder first.
    let graph = try makeGraph()
    let reader = KerasGraphBuilder(architecture: architecture, weights: weights)
    let shape = graph.inputShape
    guard shape.rank == 3 else {
      throw .unsupportedModel(reason: "takes flat features (a model spec starts with an image)")
    }
    var rows: [LayerSpec] = []
    for layer in architecture.layers {
      func refuse(_ reason: String) -> KerasProblem {
        .unsupportedSetting(layer: layer.name, className: layer.className, reason: reason)
      }
      switch layer.className {
      case "InputLayer":
        continue
      case "Conv2D":
        guard let filters = layer.config["filters"]?.number,
          let kernel = try reader.pair(layer, "kernel_size", default: nil)
        else { throw refuse("no filters or kernel_size") }
        let strides = try reader.pair(layer, "strides", default: 1) ?? (1, 1)
        rows.append(
          .conv2d(
            filters: Int(filters), kernel: Size2(kernel.0, kernel.1),
            strides: Size2(strides.0, strides.1), padding: try reader.padding(layer),
            activation: try reader.specActivation(layer)))
      case "Dense":
        guard let units = layer.config["units"]?.number else { throw refuse("no units") }
        rows.append(.dense(units: Int(units), activation: try reader.specActivation(layer)))
      case "MaxPooling2D", "AveragePooling2D":
        guard try reader.padding(layer) == .valid else {
          throw refuse("padding same (a model spec pools without padding)")
        }
        let size = try reader.pair(layer, "pool_size", default: 2) ?? (2, 2)
        let strides = try reader.pair(layer, "strides", default: nil) ?? size
        rows.append(
          .pooling2d(
            layer.className == "MaxPooling2D" ? .max : .average, pool: Size2(size.0, size.1),
            strides: Size2(strides.0, strides.1)))
      case "Dropout":
        rows.append(.dropout(rate: Float(layer.config["rate"]?.number ?? 0)))
      case "Flatten":
        rows.append(.flatten)
      case "Activation", "ReLU", "Softmax":
        let function: Activation.Function
        switch layer.className {
        case "ReLU":
          guard (try reader.rectifier(layer) as? Activation)?.function == .relu else {
            throw refuse("a model spec's relu has no max_value or negative_slope")
          }
          function = .relu
        case "Softmax": function = .softmax
        default: function = try reader.specActivation(layer)
        }
        rows.append(.activation(function))
      default:
        throw refuse("a model spec has no such row")
      }
    }
    do {
      return try ModelSpec(
        input: .image(height: shape[1], width: shape[2], channels: shape[0]), layers: rows)
    } catch {
      throw .unsupportedModel(reason: "does not fit a model spec: \(error)")
    }
  }

  /// The model as a convviz model file: a weights-only file's weights with
  /// `spec`, or a Sequential model's own (`sequentialSpec`).
  public func modelFile(spec: ModelSpec? = nil) throws(KerasProblem) -> ModelFile {
    let resolved: ModelSpec
    if let spec {
      resolved = spec
    } else {
      resolved = try sequentialSpec()
    }
    let spec = resolved
    return ModelFile(
      spec: spec, metadata: TrainingMetadata(dataset: format.rawValue),
      parameters: try parameters(for: spec))
  }
}
