import Tensors

/// A graph with its execution plans: what training, prediction and the
/// visualizations run.
///
/// Input (N, inputShape...) → (N, outputShape...). The plans are made once,
/// when the network is built: `inferencePlan` computes the graph's output,
/// `trainingPlan` the same but, when the output is a softmax, stops at the
/// logits so that `trainingStep` computes the cross-entropy stably on them,
/// as Keras does. `activation(of:for:)` runs the graph up to any tensor.
/// Parameters are visited node by node in a fixed order.
public struct Network: Sendable {
  public internal(set) var graph: Graph
  public let inferencePlan: ExecutionPlan
  public let trainingPlan: ExecutionPlan
  /// The last training forward's plan and how many followers each step
  /// folded at run time, which backward retraces.
  var pendingBackwardRun: (plan: ExecutionPlan, folded: [Int])?
  /// Where forward time goes, summed over the runs made while it is not
  /// nil (nil, the default, profiles nothing): set it to `StepProfile()`
  /// to start.
  public var stepProfile: StepProfile?

  public init(_ graph: Graph) {
    self.graph = graph
    do {
      inferencePlan = try ExecutionPlan(graph: graph)
      trainingPlan = try ExecutionPlan(graph: graph, softmaxToLoss: true)
    } catch {
      preconditionFailure("a checked graph plans at its own input shape: \(error)")
    }
  }

  public var inputShape: Shape { graph.inputShape }
  public var outputShape: Shape { inferencePlan.outputShape }

  /// The operations, in node order.
  public var layers: [any Operation] { graph.nodes.map(\.op) }

  /// The per-sample output shape of every node, in node order.
  public func layerOutputShapes() -> [Shape] { Array(graph.tensorShapes.dropFirst()) }

  /// True when the outputs are a softmax's probabilities.
  public var endsInSoftmax: Bool { trainingPlan.leavesSoftmaxToLoss }

  /// The graph's output for `input` (N, inputShape...).
  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    try execute(inferencePlan, input: input, mode: mode)
  }

  /// The value of tensor `name` (any node's output) for `input`, running
  /// only the nodes it depends on, with the plan's fusion. `input` may have
  /// any per-sample shape those nodes accept: shapes are inferred again for
  /// it, so a convolutional front runs on a photo of its own size. After a
  /// `.training` run, `backward` starts from this tensor.
  public mutating func activation(
    of name: String, for input: Tensor, mode: Mode = .inference
  ) throws(EngineError) -> Tensor {
    let plan = try ExecutionPlan(graph: graph, output: name, inputShape: input.sampleShape)
    return try execute(plan, input: input, mode: mode)
  }

  /// Backpropagates `dOutput`, the gradient of the last `.training` run's
  /// output, adding into parameter gradients unless `parameterGradients` is
  /// false (then they are left as they were, and not computed where the
  /// operations can skip them). Returns the gradient with respect to the
  /// graph input when `inputGradient` is set; otherwise the nodes reading
  /// the input skip computing it.
  @discardableResult
  public mutating func backward(
    _ dOutput: Tensor, inputGradient: Bool = false, parameterGradients: Bool = true
  ) throws(EngineError) -> Tensor? {
    guard let run = pendingBackwardRun else {
      preconditionFailure("backward needs a training forward first")
    }
    pendingBackwardRun = nil
    return try retrace(
      run.plan, folded: run.folded, dOutput: dOutput, inputGradient: inputGradient,
      parameterGradients: parameterGradients)
  }

  /// One training step on a batch: zeroes the gradients, then forward,
  /// cross-entropy against class-index `labels`, and backward. Returns the
  /// mean loss and the model's output (probabilities if it ends in softmax).
  public mutating func trainingStep(
    input: Tensor, labels: [Int]
  ) throws(EngineError) -> (loss: Float, output: Tensor) {
    zeroGradients()
    let output = try execute(trainingPlan, input: input, mode: .training)
    if trainingPlan.leavesSoftmaxToLoss {
      let result = SoftmaxCrossEntropy.lossAndGradient(logits: output, labels: labels)
      try backward(result.dLogits)
      return (result.loss, result.probabilities)
    }
    let result = SoftmaxCrossEntropy.lossAndGradient(probabilities: output, labels: labels)
    try backward(result.dProbabilities)
    return (result.loss, output)
  }

  /// Inference-mode outputs for `input`, computed `batchSize` samples at a time
  /// to bound memory.
  public mutating func predict(
    _ input: Tensor, batchSize: Int = 100
  ) throws(EngineError) -> Tensor {
    precondition(batchSize >= 1, "batch size must be at least 1")
    let n = input.batchCount
    guard n > batchSize else { return try forward(input, mode: .inference) }
    var parts: [Tensor] = []
    for start in stride(from: 0, to: n, by: batchSize) {
      parts.append(try forward(input.samples(start..<min(start + batchSize, n)), mode: .inference))
    }
    return Tensor.concatenatingSamples(parts)
  }

  /// Visits every parameter, node by node, in a fixed order.
  public mutating func forEachParameter(_ body: (inout Parameter) -> Void) {
    for k in graph.nodes.indices { graph.nodes[k].op.forEachParameter(body) }
  }

  public mutating func zeroGradients() {
    forEachParameter { $0.grad.zero() }
  }

  /// Every parameter's value, in `forEachParameter` order.
  public var parameterValues: [Tensor] {
    var copy = self
    var values: [Tensor] = []
    copy.forEachParameter { values.append($0.value) }
    return values
  }

  /// Whether every weight is a finite number (training that diverged can
  /// leave NaN or infinity in them).
  public var parametersAreFinite: Bool {
    var copy = self
    var finite = true
    copy.forEachParameter { parameter in
      if finite && !parameter.value.storage.allSatisfy(\.isFinite) { finite = false }
    }
    return finite
  }

  /// The total number of trainable scalars.
  public var parameterCount: Int {
    var copy = self
    var total = 0
    copy.forEachParameter { total += $0.value.count }
    return total
  }

  /// The random-generator state of each node (nil for nodes without one),
  /// for checkpoints. Setting restores the nodes that have a generator.
  public var generatorStates: [[UInt64]?] {
    get { graph.nodes.map(\.op.generatorState) }
    set {
      precondition(newValue.count == graph.nodes.count, "one state per node expected")
      for k in graph.nodes.indices { graph.nodes[k].op.generatorState = newValue[k] }
    }
  }
}

/// The name the layer engine had before it became a graph: a `Network`
/// whose graph is a chain.
public typealias Sequential = Network

extension Network {
  /// A chain of `layers`; checks that each accepts the previous one's output.
  public init(inputShape: Shape, layers: [any Layer]) {
    do {
      self.init(try Graph(chain: layers, inputShape: inputShape))
    } catch {
      preconditionFailure("layers do not fit together: \(error)")
    }
  }
}
