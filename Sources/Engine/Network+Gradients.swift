import Tensors

/// Gradients of a prediction with respect to its input and to one
/// intermediate tensor, as explanation methods (saliency, Grad-CAM,
/// integrated gradients) take them.
///
/// The forward runs in `.inferenceWithGradients` mode: dropout is off, so
/// the output is the inference output, but every operation keeps what
/// backward needs. The kept tensor is planned as a step's output, so a
/// convolution's output is the convolution's even where inference would
/// fold its ReLU and pooling into it. Backward adds into the parameters'
/// gradients as training's does (callers that care zero them), unless
/// told not to, as explanations do: then it does not compute them.
extension Network {
  /// What `forwardForGradients` returns: the graph output (or the logits
  /// under a final softmax) and the kept tensor's value.
  public struct GradientForward: Sendable {
    public var output: Tensor
    /// The value of the kept tensor; nil when none was asked for.
    public var activation: Tensor?
  }

  /// What `backwardForGradients` returns.
  public struct GradientBackward: Sendable {
    /// The gradient at the kept tensor (zeros when the output does not
    /// depend on it); nil when none was kept.
    public var dActivation: Tensor?
    /// The gradient at the input; nil unless asked for.
    public var dInput: Tensor?
  }

  /// Runs the graph on `input` (N, inputShape...) with dropout off,
  /// keeping tensor `name` (any node's output, or the input) and what
  /// `backwardForGradients` needs. With `logits`, a final softmax is left
  /// out and the output is the scores under it.
  public mutating func forwardForGradients(
    _ input: Tensor, keeping name: String? = nil, logits: Bool = false
  ) throws(EngineError) -> GradientForward {
    let plan = try ExecutionPlan(
      graph: graph, inputShape: input.sampleShape, softmaxToLoss: logits,
      keeping: name.map { [$0] } ?? [])
    let run = try executeKeeping(plan, input: input, mode: .inferenceWithGradients)
    return GradientForward(output: run.output, activation: run.kept.first)
  }

  /// Backpropagates `dOutput`, a gradient of the last
  /// `forwardForGradients` output, to the kept tensor and, with
  /// `inputGradient`, to the input. Without `inputGradient` it stops at
  /// the kept tensor: one forward and a partial backward. Without
  /// `parameterGradients` the parameters' gradients are neither computed
  /// (where the operations can skip them) nor changed.
  public mutating func backwardForGradients(
    _ dOutput: Tensor, inputGradient: Bool, parameterGradients: Bool = true
  ) throws(EngineError) -> GradientBackward {
    guard let run = pendingBackwardRun else {
      preconditionFailure("backwardForGradients needs forwardForGradients first")
    }
    pendingBackwardRun = nil
    precondition(
      dOutput.shape.rank >= 1 && dOutput.sampleShape == run.plan.outputShape,
      "dOutput must be (N, \(run.plan.outputShape.dims)), got \(dOutput.shape)")
    var kept: [Tensor?] = []
    let dInput = try retrace(
      run.plan, folded: run.folded, dOutput: dOutput, inputGradient: inputGradient,
      parameterGradients: parameterGradients, stopAtKept: true, keptGradients: &kept)
    var dActivation: Tensor? = nil
    if let first = kept.first {
      dActivation =
        first ?? Tensor(zeros: Shape([dOutput.shape[0]] + run.plan.keptShapes[0].dims))
    }
    return GradientBackward(dActivation: dActivation, dInput: dInput)
  }
}

/// Guided backpropagation (Springenberg et al. 2015): backward through the
/// rectifiers passes only the positive part of each gradient.
extension Network {
  /// Switches every node's `Operation.guidedBackward` on or off; the
  /// gradient passes of `forwardForGradients` then follow it.
  public mutating func setGuidedBackward(_ guided: Bool) {
    for k in graph.nodes.indices { graph.nodes[k].op.guidedBackward = guided }
  }

  /// The nodes that the logits (the output under a final softmax, which is
  /// left out) depend on and that have no guided rule
  /// (`Operation.hasGuidedRule`), in node order.
  public func nodesWithoutGuidedRule() -> [Graph.Node] {
    let plan = trainingPlan
    return plan.steps.flatMap { [$0.node] + $0.folded }.sorted()
      .map { graph.nodes[$0] }.filter { !$0.op.hasGuidedRule }
  }
}
