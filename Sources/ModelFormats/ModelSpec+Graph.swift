import Engine
import Tensors

/// The one model builder: a spec becomes the engine's graph, fresh or with
/// stored weights, and the graph a `Network`.
///
/// Each row becomes one node named after the row's Keras name (`conv2d`,
/// `dense_1`), whose output tensor has that name too; a Conv2D or Dense row
/// with an activation becomes two nodes, `conv2d` writing `conv2d/linear`
/// and `conv2d/relu` writing `conv2d`, as Keras computes it (the planner
/// folds them back together where the engine can). The input tensor is
/// `input`.
extension ModelSpec {
  /// The graph tensor holding the output of row `index` (after its activation).
  public func tensorName(ofRow index: Int) -> String { layerNames[index] }

  /// The row a graph node was built from.
  public func row(ofNode name: String) -> Int? {
    let rowName = name.split(separator: "/", maxSplits: 1).first.map(String.init) ?? name
    return layerNames.firstIndex(of: rowName)
  }

  /// A freshly initialised graph: Glorot-uniform kernels and zero biases
  /// drawn in row order from `generator`; each dropout row gets its own
  /// generator split off in turn.
  public func makeGraph(generator: inout SeededGenerator) -> Graph {
    makeGraph(generator: &generator) { layer, input, generator in
      switch layer {
      case .conv2d(let filters, let kernel, let strides, let padding, _):
        guard case .image(_, _, let channels) = input else {
          preconditionFailure("checked by init")
        }
        return Conv2D(
          inputChannels: channels, filters: filters, kernelSize: (kernel.height, kernel.width),
          strides: (strides.height, strides.width), padding: padding, generator: &generator)
      case .dense(let units, _):
        return Dense(inputFeatures: input.count, units: units, generator: &generator)
      default:
        preconditionFailure("only conv2d and dense have weights")
      }
    }
  }

  /// A graph holding `parameters`, which must match `parameterShapes` in
  /// names and shapes (as `ModelFile` guarantees). Dropout generators are
  /// seeded from `seed`; a checkpoint restores their exact state afterwards.
  public func makeGraph(parameters: [NamedTensor], seed: UInt64 = 0) -> Graph {
    let expected = parameterShapes
    precondition(
      parameters.map(\.name) == expected.map(\.name)
        && parameters.map(\.tensor.shape) == expected.map(\.shape),
      "parameters do not match the spec")
    var next = 0
    var generator = SeededGenerator(seed: seed)
    return makeGraph(generator: &generator) { layer, _, _ in
      defer { next += 2 }
      let kernel = parameters[next].tensor
      let bias = parameters[next + 1].tensor
      switch layer {
      case .conv2d(_, _, let strides, let padding, _):
        return Conv2D(
          kernel: kernel, bias: bias, strides: (strides.height, strides.width), padding: padding)
      default:
        return Dense(kernel: kernel, bias: bias)
      }
    }
  }

  /// A freshly initialised network (see `makeGraph(generator:)`).
  public func makeModel(generator: inout SeededGenerator) -> Network {
    Network(makeGraph(generator: &generator))
  }

  /// A network initialised from `seed` (see `makeGraph(generator:)`).
  public func makeModel(seed: UInt64) -> Network {
    var generator = SeededGenerator(seed: seed)
    return makeModel(generator: &generator)
  }

  /// A network holding `parameters` (see `makeGraph(parameters:seed:)`).
  public func makeModel(parameters: [NamedTensor], seed: UInt64 = 0) -> Network {
    Network(makeGraph(parameters: parameters, seed: seed))
  }

  /// Builds the nodes in row order; `weighted` makes Conv2D and Dense.
  private func makeGraph(
    generator: inout SeededGenerator,
    weighted: (LayerSpec, FeatureShape, inout SeededGenerator) -> any Operation
  ) -> Graph {
    var nodes: [Graph.Node] = []
    var previous = "input"
    func append(_ name: String, _ op: any Operation, output: String) {
      nodes.append(Graph.Node(name, op, inputs: [previous], output: output))
      previous = output
    }
    for (row, (layer, input)) in zip(layers, inputShapes).enumerated() {
      let name = layerNames[row]
      switch layer {
      case .conv2d(_, _, _, _, let activation), .dense(_, let activation):
        let op = weighted(layer, input, &generator)
        if activation == .linear {
          append(name, op, output: name)
        } else {
          append(name, op, output: name + "/linear")
          append(name + "/" + activation.rawValue, Activation(activation), output: name)
        }
      case .pooling2d(let reduction, let pool, let strides):
        append(
          name,
          Pooling2D(
            reduction, poolSize: (pool.height, pool.width),
            strides: (strides.height, strides.width)),
          output: name)
      case .dropout(let rate):
        append(name, Dropout(rate: rate, generator: generator.split()), output: name)
      case .flatten:
        append(name, Flatten(), output: name)
      case .activation(let activation):
        append(name, Activation(activation), output: name)
      }
    }
    do {
      return try Graph(input: "input", shape: input.tensorShape, nodes: nodes, output: previous)
    } catch {
      preconditionFailure("a checked spec builds a valid graph: \(error)")
    }
  }
}

/// The parameters of a model in visiting order, named after `spec`.
extension Network {
  public func namedParameters(_ spec: ModelSpec) -> [NamedTensor] {
    let values = parameterValues
    let names = spec.parameterShapes
    precondition(values.count == names.count, "model does not match spec")
    return zip(names, values).map { NamedTensor(name: $0.0.name, tensor: $0.1) }
  }
}

extension ModelFile {
  /// The stored network, ready for inference or evaluation.
  public func makeModel() -> Network {
    spec.makeModel(parameters: parameters, seed: metadata.seed)
  }
}
