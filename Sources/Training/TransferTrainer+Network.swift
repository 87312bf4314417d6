import Engine
import ModelFormats
import Tensors

/// The backbone and head as one network: cut from a model, joined for
/// fine-tuning and saving, and stepped with two learning rates.
extension TransferTrainer {
  /// The operations whose weights fine-tuning trains: those with weight
  /// gradients that are learnt (not batch-normalisation statistics, not
  /// constant operands such as a mean subtracted from the input).
  static let fineTunedKinds: Set<String> = ["Conv2D", "Dense"]

  /// The backbone and head joined: the trained network, whatever the phase.
  public var network: Network {
    if let combined { return combined }
    do {
      return Network(try Self.joining(backbone.graph, headNetwork.graph))
    } catch {
      preconditionFailure("a head that reads the backbone's output joins it: \(error)")
    }
  }

  /// Every weight of `network`, backbone first, in visiting order.
  public var parameterValues: [Tensor] { network.parameterValues }

  /// The number of backbone weights (at the front of `parameterValues`).
  public var backboneParameterCount: Int {
    var copy = backbone
    var count = 0
    copy.forEachParameter { _ in count += 1 }
    return count
  }

  /// The graph of `model` that computes tensor `name`: the nodes it depends
  /// on, in order, with `name` as the output. Throws when `name` is not a
  /// tensor of the graph.
  public static func backbone(of model: Graph, through name: String) throws(EngineError) -> Graph {
    guard let last = model.nodes.lastIndex(where: { $0.output == name }) else {
      throw .noSuchTensor(name)
    }
    var needed: Set<String> = [name]
    var kept: [Graph.Node] = []
    for node in model.nodes[...last].reversed() where needed.contains(node.output) {
      kept.append(node)
      needed.formUnion(node.inputs)
    }
    return try Graph(
      input: model.input, shape: model.inputShape, nodes: kept.reversed(), output: name)
  }

  /// `head` appended to `backbone`: the head's input becomes the backbone's
  /// output, and its nodes and tensors are named `head/NAME` so that no
  /// name is taken twice.
  public static func joining(_ backbone: Graph, _ head: Graph) throws(EngineError) -> Graph {
    func renamed(_ tensor: String) -> String {
      tensor == head.input ? backbone.output : "head/" + tensor
    }
    let nodes = head.nodes.map { node in
      Graph.Node(
        "head/" + node.name, node.op, inputs: node.inputs.map(renamed),
        output: renamed(node.output))
    }
    return try Graph(
      input: backbone.input, shape: backbone.inputShape, nodes: backbone.nodes + nodes,
      output: renamed(head.output))
  }

  /// Joins the two networks for end-to-end training and gives the
  /// backbone's fine-tuned weights their optimizer.
  mutating func unfreeze() throws(TrainerError) {
    do {
      combined = Network(try Self.joining(backbone.graph, headNetwork.graph))
    } catch {
      throw .engine(error)
    }
    var optimizer = optimizerConfiguration.makeOptimizer()
    optimizer.learningRate = baseLearningRate * transfer.fineTuneFactor
    backboneOptimizer = optimizer
  }

  /// Whether each backbone weight, in visiting order, is fine-tuned.
  var fineTunedWeights: [Bool] {
    var mask: [Bool] = []
    for node in backbone.graph.nodes {
      var op = node.op
      op.forEachParameter { _ in mask.append(Self.fineTunedKinds.contains(node.op.kind)) }
    }
    return mask
  }

  /// One optimizer step of the joined network: the backbone's fine-tuned
  /// weights with its optimizer, the head's with the head's (whose slots
  /// stay those of the frozen epochs, in the same order).
  mutating func stepUnfrozen(_ model: inout Network) {
    let mask = fineTunedWeights
    let count = mask.count
    if var fineTuning = backboneOptimizer {
      backboneOptimizer = nil
      fineTuning.step(weightDecay: configuration.weightDecay) { body in
        var index = 0
        model.forEachParameter { parameter in
          if index < count && mask[index] { body(&parameter) }
          index += 1
        }
      }
      backboneOptimizer = fineTuning
    }
    optimizer.step(weightDecay: configuration.weightDecay) { body in
      var index = 0
      model.forEachParameter { parameter in
        if index >= count { body(&parameter) }
        index += 1
      }
    }
  }

  /// The trained network as a model file of `spec`, the backbone's rows
  /// followed by the head's (`ModelSpec.appending`): weights named after
  /// it and the run's training metadata, without a checkpoint.
  public func modelFile(
    spec: ModelSpec, dataset: String, classNames: [String], resize: ResizeMode
  ) -> ModelFile {
    let names = spec.parameterShapes
    let values = parameterValues
    precondition(
      names.count == values.count && zip(names, values).allSatisfy { $0.shape == $1.shape },
      "the spec is not the backbone and head")
    let metadata = configuration.metadata(
      dataset: dataset, classNames: classNames, optimizer: optimizerConfiguration,
      history: history, resize: resize)
    return ModelFile(
      spec: spec, metadata: metadata,
      parameters: zip(names, values).map { NamedTensor(name: $0.name, tensor: $1) },
      checkpoint: nil)
  }

  /// The history with each epoch's learning rate (the head's).
  public var historyWithLearningRates: [EpochRecord] {
    configuration.learningRateSchedule.addingRates(to: history, base: baseLearningRate)
  }
}
