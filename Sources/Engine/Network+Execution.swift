import Tensors

/// The executor: runs a plan's steps in order and retraces them backward.
/// It knows operations only through `Operation`; which nodes run together
/// is the plan's data.
extension Network {
  /// Runs `plan` on `input`; in `.training` mode, remembers the run for
  /// `backward`.
  mutating func execute(
    _ plan: ExecutionPlan, input: Tensor, mode: Mode
  ) throws(EngineError) -> Tensor {
    precondition(
      input.shape.rank >= 1 && input.sampleShape == plan.inputShape,
      "the plan expects samples of shape \(plan.inputShape), got \(input.shape)")
    pendingBackwardRun = nil
    var slots = [Tensor?](repeating: nil, count: plan.slotCount)
    slots[0] = input
    var folded = [Int](repeating: 0, count: plan.steps.count)
    for (s, step) in plan.steps.enumerated() {
      let inputs = step.inputSlots.map { Self.filled(slots[$0]) }
      for slot in step.releasedSlots { slots[slot] = nil }
      let run = try graph.nodes[step.node].op.forward(inputs, mode: mode, folding: step.stages)
      var output = run.output
      // Followers the operation could not fold for these inputs (a batch
      // too small for the fused kernel) run on their own.
      for k in step.folded[run.folded...] {
        output = try graph.nodes[k].op.forward([output], mode: mode)
      }
      folded[s] = run.folded
      slots[step.outputSlot] = output
    }
    pendingBackwardRun = mode == .training ? (plan, folded) : nil
    return Self.filled(slots[plan.outputSlot])
  }

  /// The steps of `plan` in reverse, each tensor's gradient summed over its
  /// readers (in reverse step order, so sums are repeatable).
  mutating func retrace(
    _ plan: ExecutionPlan, folded: [Int], dOutput: Tensor, inputGradient: Bool
  ) throws(EngineError) -> Tensor? {
    var gradients = [Tensor?](repeating: nil, count: plan.slotCount)
    gradients[plan.outputSlot] = dOutput
    for (s, step) in plan.steps.enumerated().reversed() {
      var d = Self.filled(gradients[step.outputSlot])
      gradients[step.outputSlot] = nil
      for k in step.folded[folded[s]...].reversed() {
        d = Self.filled(try graph.nodes[k].op.backward(d, needsInputGradients: [true])[0])
      }
      let needed = graph.nodeInputs[step.node].map { $0 != 0 || inputGradient }
      let dInputs = try graph.nodes[step.node].op.backward(d, needsInputGradients: needed)
      for (slot, dInput) in zip(step.inputSlots, dInputs) {
        guard let dInput else { continue }
        if var sum = gradients[slot] {
          gradients[slot] = nil
          sum += dInput
          gradients[slot] = sum
        } else {
          gradients[slot] = dInput
        }
      }
    }
    return inputGradient ? gradients[0] : nil
  }

  private static func filled(_ value: Tensor?) -> Tensor {
    guard let value else { preconditionFailure("the plan reads a slot no step wrote") }
    return value
  }
}
