import Engine
import Tensors

/// Turning a spec into an engine model, fresh or with stored weights.
extension ModelSpec {
  /// A freshly initialised model: Glorot-uniform kernels and zero biases
  /// drawn in layer order from `generator`; each dropout layer gets its own
  /// generator split off in turn.
  ///
  /// Conv2D and Dense layers with an activation become two engine layers,
  /// as Keras computes them.
  public func makeModel(generator: inout SeededGenerator) -> Sequential {
    makeModel(generator: &generator) { layer, input, generator in
      switch layer {
      case .conv2d(let filters, let kernel, let strides, let padding, _):
        guard case .image(_, _, let channels) = input else {
          preconditionFailure("checked by init")
        }
        return Conv2D(
          inputChannels: channels, filters: filters, kernelSize: (kernel.height, kernel.width),
          strides: (strides.height, strides.width), padding: padding.engine, generator: &generator)
      case .dense(let units, _):
        return Dense(inputFeatures: input.count, units: units, generator: &generator)
      default:
        preconditionFailure("only conv2d and dense have weights")
      }
    }
  }

  /// A model initialised from `seed` (see `makeModel(generator:)`).
  public func makeModel(seed: UInt64) -> Sequential {
    var generator = SeededGenerator(seed: seed)
    return makeModel(generator: &generator)
  }

  /// A model holding `parameters`, which must match `parameterShapes` in
  /// names and shapes (as `ModelFile` guarantees). Dropout generators are
  /// seeded from `seed`; a checkpoint restores their exact state afterwards.
  public func makeModel(parameters: [NamedTensor], seed: UInt64 = 0) -> Sequential {
    let expected = parameterShapes
    precondition(
      parameters.map(\.name) == expected.map(\.name)
        && parameters.map(\.tensor.shape) == expected.map(\.shape),
      "parameters do not match the spec")
    var next = 0
    var generator = SeededGenerator(seed: seed)
    return makeModel(generator: &generator) { layer, _, _ in
      defer { next += 2 }
      let kernel = parameters[next].tensor
      let bias = parameters[next + 1].tensor
      switch layer {
      case .conv2d(_, _, let strides, let padding, _):
        return Conv2D(
          kernel: kernel, bias: bias, strides: (strides.height, strides.width),
          padding: padding.engine)
      default:
        return Dense(kernel: kernel, bias: bias)
      }
    }
  }

  /// Builds the layers in order; `weighted` makes Conv2D and Dense layers.
  private func makeModel(
    generator: inout SeededGenerator,
    weighted: (LayerSpec, FeatureShape, inout SeededGenerator) -> any Layer
  ) -> Sequential {
    var engineLayers: [any Layer] = []
    for (layer, input) in zip(layers, inputShapes) {
      switch layer {
      case .conv2d(_, _, _, _, let activation), .dense(_, let activation):
        engineLayers.append(weighted(layer, input, &generator))
        if activation != .linear { engineLayers.append(Activation(activation.engine)) }
      case .pooling2d(let kind, let pool, let strides):
        engineLayers.append(
          Pooling2D(
            kind.engine, poolSize: (pool.height, pool.width),
            strides: (strides.height, strides.width)))
      case .dropout(let rate):
        engineLayers.append(Dropout(rate: rate, generator: generator.split()))
      case .flatten:
        engineLayers.append(Flatten())
      case .activation(let activation):
        engineLayers.append(Activation(activation.engine))
      }
    }
    return Sequential(inputShape: input.tensorShape, layers: engineLayers)
  }
}

/// The parameters of a model in visiting order, named after `spec`.
extension Sequential {
  public func namedParameters(_ spec: ModelSpec) -> [NamedTensor] {
    var copy = self
    var values: [Tensor] = []
    copy.forEachParameter { values.append($0.value) }
    let names = spec.parameterShapes
    precondition(values.count == names.count, "model does not match spec")
    return zip(names, values).map { NamedTensor(name: $0.0.name, tensor: $0.1) }
  }
}

extension LayerSpec.Padding {
  var engine: Padding { self == .same ? .same : .valid }
}

extension LayerSpec.Activation {
  var engine: Activation.Function {
    switch self {
    case .linear: return .linear
    case .relu: return .relu
    case .sigmoid: return .sigmoid
    case .tanh: return .tanh
    case .softmax: return .softmax
    }
  }
}

extension LayerSpec.Pooling {
  var engine: Pooling2D.Reduction {
    switch self {
    case .max: return .max
    case .average: return .average
    case .l2: return .l2
    }
  }
}

extension ModelFile {
  /// The stored network, ready for inference or evaluation.
  public func makeModel() -> Sequential {
    spec.makeModel(parameters: parameters, seed: metadata.seed)
  }
}
