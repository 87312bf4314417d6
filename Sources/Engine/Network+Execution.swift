import Tensors

/// The executor: runs a plan's steps in order and retraces them backward.
/// It knows operations only through `Operation`; which nodes run together
/// is the plan's data.
extension Network {
  /// Runs `plan` on `input`; in a mode that keeps caches, remembers the run
  /// for `backward`.
  mutating func execute(
    _ plan: ExecutionPlan, input: Tensor, mode: Mode
  ) throws(EngineError) -> Tensor {
    try executeKeeping(plan, input: input, mode: mode).output
  }

  /// `execute`, also returning the plan's `kept` tensors.
  mutating func executeKeeping(
    _ plan: ExecutionPlan, input: Tensor, mode: Mode
  ) throws(EngineError) -> (output: Tensor, kept: [Tensor]) {
    precondition(
      input.shape.rank >= 1 && input.sampleShape == plan.inputShape,
      "the plan expects samples of shape \(plan.inputShape), got \(input.shape)")
    try EngineError.requireOpenBLAS()
    pendingBackwardRun = nil
    var slots = [StepValue?](repeating: nil, count: plan.slotCount)
    slots[0] = .plain(input)
    var folded = [Int](repeating: 0, count: plan.steps.count)
    let onOneDNN = mode == .inference && OneDNN.isUsable
    let profiling = stepProfile != nil
    var s = 0
    while s < plan.steps.count {
      let step = plan.steps[s]
      let start: ContinuousClock.Instant? = profiling ? .now : nil
      if onOneDNN, let addend = step.residualAddend,
        try residualStep(step, plan.steps[s + 1], addend: addend, slots: &slots)
      {
        if let start { profile([step, plan.steps[s + 1]], since: start) }
        s += 2
        continue
      }
      let given = step.inputSlots.map { Self.filled(slots[$0]) }
      for slot in step.releasedSlots { slots[slot] = nil }
      if onOneDNN, let output = try oneDNNStep(step, inputs: given) {
        slots[step.outputSlot] = output
      } else {
        var run: (output: StepValue, folded: Int)
        if mode == .training, let convolution = try oneDNNTrainingStep(step, inputs: given) {
          run = convolution
        } else {
          var inputs: [Tensor] = []
          for value in given { inputs.append(try value.plain()) }
          let plain = try graph.nodes[step.node].op.forward(
            inputs, mode: mode, folding: step.stages)
          run = (.plain(plain.output), plain.folded)
        }
        // Followers the operation could not fold for these inputs (a batch
        // too small for the fused kernel) run on their own.
        if run.folded < step.folded.count {
          var output = try run.output.plain()
          for k in step.folded[run.folded...] {
            output = try graph.nodes[k].op.forward([output], mode: mode)
          }
          run.output = .plain(output)
        }
        folded[s] = run.folded
        slots[step.outputSlot] = run.output
      }
      if let start { profile([step], since: start) }
      s += 1
    }
    if profiling { stepProfile?.countRun() }
    pendingBackwardRun = mode.keepsCaches ? (plan, folded) : nil
    var kept: [Tensor] = []
    for slot in plan.keptSlots { kept.append(try Self.filled(slots[slot]).plain()) }
    return (try Self.filled(slots[plan.outputSlot]).plain(), kept)
  }

  /// Adds the time since `start` to the profile, under the kinds of the
  /// steps (run as one) and the first one's kernel.
  private mutating func profile(
    _ steps: [ExecutionPlan.Step], since start: ContinuousClock.Instant
  ) {
    let milliseconds = StepProfile.milliseconds(since: start)
    let kind = steps.flatMap { [$0.node] + $0.folded }.map { graph.nodes[$0].op.profileName }
      .joined(separator: "+")
    stepProfile?.add(
      kind: kind, kernel: graph.nodes[steps[0].node].op.kernelDescription,
      milliseconds: milliseconds)
  }

  /// Runs a convolution step and the two-input sum after it
  /// (`ExecutionPlan.Step.residualAddend`) as one oneDNN convolution with a
  /// sum post-op, writing the sum's output slot; false (nothing done) when
  /// the convolution does not run on oneDNN.
  private mutating func residualStep(
    _ step: ExecutionPlan.Step, _ sum: ExecutionPlan.Step, addend: Int,
    slots: inout [StepValue?]
  ) throws(EngineError) -> Bool {
    guard var conv = graph.nodes[step.node].op as? Conv2D else { return false }
    let input = Self.filled(slots[step.inputSlots[0]])
    let relu = sum.stages == [.relu]
    let ready = conv.preparesResidualSum(inputShape: input.shape, relu: relu)
    graph.nodes[step.node].op = conv
    guard ready else { return false }
    // The addend's last reader is usually the sum: once its slot is free,
    // the convolution writes over its storage instead of a copy.
    var value = slots[sum.inputSlots[addend]]
    for slot in step.releasedSlots + sum.releasedSlots { slots[slot] = nil }
    slots[sum.outputSlot] = try conv.oneDNNForward(
      input, adding: Self.filled(value.take()), relu: relu, keepLayout: sum.keepsOneDNNLayout)
    graph.nodes[step.node].op = conv
    return true
  }

  /// An inference step whose node runs on oneDNN (`OneDNNLayoutOperation`),
  /// taking `inputs` in any layout and leaving its output in oneDNN's where
  /// the plan says (`keepsOneDNNLayout`); its followers run on oneDNN too
  /// where they can, else on NCHW. Nil when the node does not run on
  /// oneDNN (the caller runs the step as usual).
  private mutating func oneDNNStep(
    _ step: ExecutionPlan.Step, inputs: [StepValue]
  ) throws(EngineError) -> StepValue? {
    guard var op = graph.nodes[step.node].op as? any OneDNNLayoutOperation else { return nil }
    let run = try op.oneDNNForward(
      inputs, folding: step.stages, keepLayout: step.keepsOneDNNLayout || !step.folded.isEmpty)
    graph.nodes[step.node].op = op
    guard let run else { return nil }
    var output = run.output
    for k in step.folded[run.folded...] {
      let keep = k != step.folded.last || step.keepsOneDNNLayout
      if var follower = graph.nodes[k].op as? any OneDNNLayoutOperation {
        let result = try follower.oneDNNForward([output], folding: [], keepLayout: keep)
        graph.nodes[k].op = follower
        if let result {
          output = result.output
          continue
        }
      }
      output = .plain(try graph.nodes[k].op.forward([try output.plain()], mode: .inference))
    }
    if !step.keepsOneDNNLayout, case .oneDNN = output { output = .plain(try output.plain()) }
    return output
  }

  /// A training step whose node is a convolution on oneDNN, reading its
  /// input in the layout the convolution before left it in and leaving its
  /// output in its own where the plan says (`keepsOneDNNTrainingLayout`),
  /// and how many followers it folded. Nil when the node does not run on
  /// oneDNN (the caller runs the step as usual).
  private mutating func oneDNNTrainingStep(
    _ step: ExecutionPlan.Step, inputs: [StepValue]
  ) throws(EngineError) -> (output: StepValue, folded: Int)? {
    guard inputs.count == 1 else { return nil }
    return try withConvolution(step.node) { conv throws(EngineError) in
      try conv.oneDNNTrainingForward(
        inputs[0], mode: .training, stages: step.stages,
        keepLayout: step.keepsOneDNNTrainingLayout && OneDNNTraining.keepsLayouts)
    } ?? nil
  }

  /// `body` on node `k`'s operation when it is a convolution (nil
  /// otherwise), moved out of the graph meanwhile so that `body` holds its
  /// arrays alone: writing its gradients then copies none of them.
  private mutating func withConvolution<Result>(
    _ k: Int, _ body: (inout Conv2D) throws(EngineError) -> Result
  ) throws(EngineError) -> Result? {
    guard var conv = graph.nodes[k].op as? Conv2D else { return nil }
    graph.nodes[k].op = Flatten()  // a stand-in that holds nothing
    defer { graph.nodes[k].op = conv }
    return try body(&conv)
  }

  /// The steps of `plan` in reverse, each tensor's gradient summed over its
  /// readers (in reverse step order, so sums are repeatable), adding into
  /// the parameters' gradients with `parameterGradients`.
  mutating func retrace(
    _ plan: ExecutionPlan, folded: [Int], dOutput: Tensor, inputGradient: Bool,
    parameterGradients: Bool
  ) throws(EngineError) -> Tensor? {
    var keptGradients: [Tensor?] = []
    return try retrace(
      plan, folded: folded, dOutput: dOutput, inputGradient: inputGradient,
      parameterGradients: parameterGradients, stopAtKept: false, keptGradients: &keptGradients)
  }

  /// `retrace`, also collecting the gradient of each of the plan's `kept`
  /// tensors (nil for one the output does not depend on) into
  /// `keptGradients`. With `stopAtKept` and without `inputGradient`, it
  /// stops once it has them (parameter gradients below them are then not
  /// added). A step whose output gets no gradient (it only leads to kept
  /// tensors) is skipped.
  mutating func retrace(
    _ plan: ExecutionPlan, folded: [Int], dOutput: Tensor, inputGradient: Bool,
    parameterGradients: Bool, stopAtKept: Bool, keptGradients: inout [Tensor?]
  ) throws(EngineError) -> Tensor? {
    keptGradients = [Tensor?](repeating: nil, count: plan.kept.count)
    let needsInput = inputGradient || plan.keptSteps.contains(-1)
    // A gradient is in the layout of its tensor: NCHW, or a oneDNN
    // convolution's between two in training (`keepsOneDNNTrainingLayout`).
    var gradients = [StepValue?](repeating: nil, count: plan.slotCount)
    gradients[plan.outputSlot] = .plain(dOutput)
    for (s, step) in plan.steps.enumerated().reversed() {
      for (k, keptStep) in plan.keptSteps.enumerated() where keptStep == s {
        keptGradients[k] = try gradients[step.outputSlot]?.plain()
      }
      if stopAtKept, !needsInput, !plan.keptSteps.isEmpty, plan.keptSteps.allSatisfy({ $0 >= s }) {
        return nil
      }
      guard var d = gradients[step.outputSlot] else { continue }
      gradients[step.outputSlot] = nil
      for k in step.folded[folded[s]...].reversed() {
        d = .plain(
          Self.filled(
            try graph.nodes[k].op.backward(
              try d.plain(), needsInputGradients: [true],
              needsParameterGradients: parameterGradients)[0]))
      }
      let needed = graph.nodeInputs[step.node].map { $0 != 0 || needsInput }
      let dInputs = try backward(
        step.node, d, needsInputGradients: needed, parameterGradients: parameterGradients)
      for (slot, dInput) in zip(step.inputSlots, dInputs) {
        guard let dInput else { continue }
        if let other = gradients[slot] {
          gradients[slot] = nil
          var sum = try other.plain()
          sum += try dInput.plain()
          gradients[slot] = .plain(sum)
        } else {
          gradients[slot] = dInput
        }
      }
    }
    for (k, keptStep) in plan.keptSteps.enumerated() where keptStep == -1 {
      keptGradients[k] = try gradients[0]?.plain()
    }
    return inputGradient ? try gradients[0]?.plain() : nil
  }

  /// Node `k`'s backward: a convolution whose training forward ran on
  /// oneDNN takes `dOutput` and gives its input gradient in oneDNN's
  /// layouts, every other operation in NCHW.
  private mutating func backward(
    _ k: Int, _ dOutput: StepValue, needsInputGradients: [Bool], parameterGradients: Bool
  ) throws(EngineError) -> [StepValue?] {
    let onOneDNN = try withConvolution(k) { conv throws(EngineError) in
      try conv.oneDNNTrainingBackward(
        dOutput, needsInputGradients: needsInputGradients,
        needsParameterGradients: parameterGradients)
    }
    if let dInputs = onOneDNN ?? nil { return dInputs }
    return try graph.nodes[k].op.backward(
      try dOutput.plain(), needsInputGradients: needsInputGradients,
      needsParameterGradients: parameterGradients
    ).map { $0.map(StepValue.plain) }
  }

  private static func filled<Value>(_ value: Value?) -> Value {
    guard let value else { preconditionFailure("the plan reads a slot no step wrote") }
    return value
  }
}
