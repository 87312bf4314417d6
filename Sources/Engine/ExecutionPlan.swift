import Tensors

/// How a graph runs: which nodes run as one step (fusion, decided here
/// once) and which buffer slot holds each tensor between steps.
///
/// A plan computes one tensor, `output`, from the graph input, running only
/// the nodes it depends on. A follower is folded into the step of the node
/// before it when the tensor between them is not the plan's output, the
/// follower is its only reader and reads nothing else, and the node's
/// operation accepts it (`canFold`, given the follower's `fusionRole`):
/// Conv2D + ReLU + max pooling today. For training, a plan may stop before
/// the graph's final softmax so that the loss takes the logits
/// (`leavesSoftmaxToLoss`).
///
/// Buffers: every tensor a step writes gets a slot; a slot is free again
/// once its tensor's last reader has run, so an inference pass holds only
/// live activations, and a folded intermediate never gets one. Backward
/// visits the steps in reverse and keeps each tensor's gradient in the
/// tensor's slot, whose lifetimes reverse with it.
///
/// Layouts: in inference, a tensor that a oneDNN operation writes and only
/// oneDNN operations read stays in the layout oneDNN chose for it
/// (channels-last, channel-blocked) instead of being reordered to NCHW and
/// back (`Step.keepsOneDNNLayout`, from the operations' geometry rules). In
/// training, a convolution read only by a next convolution hands it its
/// output in its oneDNN layout, and gets its gradient back in it
/// (`Step.keepsOneDNNTrainingLayout`).
///
/// Fusion depends on the graph's structure, not on sizes: a plan for another
/// input size (a fully convolutional front at a photo's own size) folds the
/// same nodes, with shapes inferred again for that size.
public struct ExecutionPlan: Sendable {
  public struct Step: Sendable, Equatable {
    /// The node whose operation runs.
    public let node: Int
    /// Nodes done in the same pass, in order, and what each one is.
    public let folded: [Int]
    public let stages: [FusionRole]
    /// The names of `node` and the `folded` nodes.
    public let names: [String]
    let inputSlots: [Int]
    let outputSlot: Int
    /// Slots that no later step reads, free after this step.
    let releasedSlots: [Int]
    /// Whether, in inference on oneDNN, the step's output stays in the
    /// layout its oneDNN primitive wrote it in: the step runs on oneDNN
    /// and so do all its readers, which read nothing else.
    let keepsOneDNNLayout: Bool
    /// Whether, in training, the step's output may stay in the layout of
    /// the oneDNN convolution that wrote it: the step is a convolution
    /// with at most a ReLU folded, and its output is no target and is read
    /// only by the next step, a convolution that reads nothing else. Each
    /// convolution still decides at run time (both must run on oneDNN);
    /// the tensor's gradient comes back in the same layout.
    let keepsOneDNNTrainingLayout: Bool
    /// In inference on oneDNN, when set: this step is a convolution whose
    /// output only the next step reads, a sum of two tensors (with a ReLU
    /// folded or not), and the two run as one convolution that adds the
    /// next step's input at this index to its output as a oneDNN sum
    /// post-op (a residual block's sum, read and written once).
    let residualAddend: Int?
  }

  public let steps: [Step]
  /// The tensor the plan computes.
  public let output: String
  /// True when `output` is the logits under the graph's final softmax.
  public let leavesSoftmaxToLoss: Bool
  /// Per-sample shapes of the input and the output.
  public let inputShape: Shape
  public let outputShape: Shape
  /// Tensors the run keeps besides `output`: never folded away, their slots
  /// never reused, so a run can return them and backward can stop at them.
  public let kept: [String]
  /// The per-sample shapes of the `kept` tensors.
  public let keptShapes: [Shape]
  let keptSlots: [Int]
  /// The step that writes each kept tensor (-1 for the graph input).
  let keptSteps: [Int]
  /// Slot 0 holds the graph input when the run starts.
  public let slotCount: Int
  let outputSlot: Int

  /// Plans the nodes that `output` (the graph's output by default) depends
  /// on, for per-sample inputs of `inputShape` (the graph's by default).
  /// With `softmaxToLoss`, a final softmax node is left to the loss.
  /// `keeping` names tensors to keep as well (see `kept`); their nodes run
  /// even when `output` does not depend on them.
  public init(
    graph: Graph, output: String? = nil, inputShape: Shape? = nil, softmaxToLoss: Bool = false,
    keeping: [String] = []
  ) throws(EngineError) {
    var target = try graph.tensor(named: output ?? graph.output)
    var leavesSoftmax = false
    if softmaxToLoss, let last = graph.producer(ofTensor: target),
      graph.nodes[last].op.fusionRole == .softmax, graph.nodeInputs[last].count == 1
    {
      target = graph.nodeInputs[last][0]
      leavesSoftmax = true
    }
    var keptTensors: [Int] = []
    for name in keeping { keptTensors.append(try graph.tensor(named: name)) }
    let included = Self.ancestors(of: [target] + keptTensors, in: graph)
    var readers = [[Int]](repeating: [], count: graph.tensorNames.count)
    for k in included {
      for t in graph.nodeInputs[k] where !readers[t].contains(k) { readers[t].append(k) }
    }
    let grouped = Self.group(
      included, graph: graph, readers: readers, targets: Set([target] + keptTensors))
    let slots = Self.allocateSlots(grouped, graph: graph, target: target, kept: keptTensors)
    self.inputShape = inputShape ?? graph.inputShape
    let shapes = try Graph.inferShapes(
      nodes: graph.nodes, nodeInputs: graph.nodeInputs, included: included,
      inputShape: self.inputShape)
    let keepsLayout = Self.oneDNNLayouts(
      grouped, graph: graph, readers: readers, targets: Set([target] + keptTensors),
      shapes: shapes)
    let addends = Self.residualAddends(
      grouped, graph: graph, readers: readers, targets: Set([target] + keptTensors),
      shapes: shapes)
    let keepsTrainingLayout = Self.oneDNNTrainingLayouts(
      grouped, graph: graph, readers: readers, targets: Set([target] + keptTensors))
    steps = zip(grouped.indices, slots.steps).map { s, slot in
      let group = grouped[s]
      return Step(
        node: group.node, folded: group.folded, stages: group.stages,
        names: ([group.node] + group.folded).map { graph.nodes[$0].name },
        inputSlots: slot.inputs, outputSlot: slot.output, releasedSlots: slot.released,
        keepsOneDNNLayout: keepsLayout[s], keepsOneDNNTrainingLayout: keepsTrainingLayout[s],
        residualAddend: addends[s])
    }
    self.output = graph.tensorNames[target]
    leavesSoftmaxToLoss = leavesSoftmax
    slotCount = slots.count
    outputSlot = slots.output
    outputShape = shapes[target]
    kept = keeping
    keptShapes = keptTensors.map { shapes[$0] }
    keptSlots = keptTensors.map { $0 == 0 ? 0 : slots.slotOf[$0] }
    keptSteps = keptTensors.map { t in grouped.firstIndex { $0.output == t } ?? -1 }
  }

  /// The nodes `targets` depend on, ascending.
  private static func ancestors(of targets: [Int], in graph: Graph) -> [Int] {
    var needed = [Bool](repeating: false, count: graph.nodes.count)
    var pending = targets
    while let t = pending.popLast() {
      guard let k = graph.producer(ofTensor: t), !needed[k] else { continue }
      needed[k] = true
      pending += graph.nodeInputs[k]
    }
    return graph.nodes.indices.filter { needed[$0] }
  }

  private struct Group {
    var node: Int
    var folded: [Int] = []
    var stages: [FusionRole] = []
    /// The tensor the group writes.
    var output: Int
  }

  /// Folds each node's single-reader followers into it while its operation
  /// takes them.
  private static func group(
    _ included: [Int], graph: Graph, readers: [[Int]], targets: Set<Int>
  ) -> [Group] {
    var absorbed = Set<Int>()
    var groups: [Group] = []
    for k in included where !absorbed.contains(k) {
      var group = Group(node: k, output: k + 1)
      while !targets.contains(group.output), readers[group.output].count == 1 {
        let next = readers[group.output][0]
        guard graph.nodeInputs[next] == [group.output], let role = graph.nodes[next].op.fusionRole,
          graph.nodes[k].op.canFold(group.stages + [role])
        else { break }
        group.folded.append(next)
        group.stages.append(role)
        group.output = next + 1
        absorbed.insert(next)
      }
      groups.append(group)
    }
    return groups
  }

  /// For each group, whether its output stays in a oneDNN layout: the
  /// group runs on oneDNN (its node, and each follower after a folded
  /// ReLU), its output is no target, and every reader is a group's node
  /// that runs on oneDNN (a sum of several tensors reorders any operand in
  /// another layout to its first one's).
  private static func oneDNNLayouts(
    _ groups: [Group], graph: Graph, readers: [[Int]], targets: Set<Int>, shapes: [Shape]
  ) -> [Bool] {
    func runsOnOneDNN(_ k: Int) -> Bool {
      guard let op = graph.nodes[k].op as? any OneDNNLayoutOperation else { return false }
      return op.runsOnOneDNN(inputShapes: graph.nodeInputs[k].map { shapes[$0] })
    }
    let runs = groups.map { group in
      runsOnOneDNN(group.node)
        && zip(group.folded, group.stages).enumerated().allSatisfy { i, follower in
          (i == 0 && follower.1.isActivation) || runsOnOneDNN(follower.0)
        }
    }
    var groupOfNode: [Int: Int] = [:]
    for (s, group) in groups.enumerated() { groupOfNode[group.node] = s }
    return groups.indices.map { s in
      let t = groups[s].output
      guard runs[s], !targets.contains(t), !readers[t].isEmpty else { return false }
      return readers[t].allSatisfy { r in
        guard let g = groupOfNode[r] else { return false }
        return runs[g]
      }
    }
  }

  /// For each group, whether training may keep its output in a oneDNN
  /// convolution's layout (`Step.keepsOneDNNTrainingLayout`).
  private static func oneDNNTrainingLayouts(
    _ groups: [Group], graph: Graph, readers: [[Int]], targets: Set<Int>
  ) -> [Bool] {
    groups.indices.map { s in
      let group = groups[s]
      let t = group.output
      guard s + 1 < groups.count, group.stages.isEmpty || group.stages == [.relu],
        !targets.contains(t), graph.nodes[group.node].op is Conv2D
      else { return false }
      let next = groups[s + 1].node
      return readers[t] == [next] && graph.nodeInputs[next] == [t] && graph.nodes[next].op is Conv2D
    }
  }

  /// For each group, the index of the next group's input that the group's
  /// convolution adds as a sum post-op (`Step.residualAddend`), or nil:
  /// the group is a convolution on oneDNN with no followers, its output is
  /// no target and only the next group's node reads it, which is a sum of
  /// two tensors of one shape on oneDNN with at most a ReLU folded.
  private static func residualAddends(
    _ groups: [Group], graph: Graph, readers: [[Int]], targets: Set<Int>, shapes: [Shape]
  ) -> [Int?] {
    groups.indices.map { s in
      let group = groups[s]
      let t = group.output
      guard s + 1 < groups.count, group.folded.isEmpty, !targets.contains(t),
        let conv = graph.nodes[group.node].op as? Conv2D,
        conv.runsOnOneDNN(inputShapes: graph.nodeInputs[group.node].map { shapes[$0] })
      else { return nil }
      let next = groups[s + 1]
      let inputs = graph.nodeInputs[next.node]
      guard readers[t] == [next.node], next.stages.isEmpty || next.stages == [.relu],
        inputs.count == 2, inputs[0] != inputs[1], let at = inputs.firstIndex(of: t),
        let sum = graph.nodes[next.node].op as? any OneDNNLayoutOperation, sum.sumsTwoInputs,
        sum.runsOnOneDNN(inputShapes: inputs.map { shapes[$0] })
      else { return nil }
      return 1 - at
    }
  }

  /// Gives each written tensor the lowest slot free at its step; a slot
  /// frees after the last step that reads its tensor (never, for `target`
  /// and the `kept` tensors).
  private static func allocateSlots(
    _ groups: [Group], graph: Graph, target: Int, kept: [Int] = []
  ) -> (
    steps: [(inputs: [Int], output: Int, released: [Int])], count: Int, output: Int,
    slotOf: [Int]
  ) {
    var lastRead = [Int](repeating: -1, count: graph.tensorNames.count)
    for (s, group) in groups.enumerated() {
      for t in graph.nodeInputs[group.node] { lastRead[t] = s }
    }
    for t in [target] + kept { lastRead[t] = groups.count }
    var slotOf = [Int](repeating: -1, count: graph.tensorNames.count)
    slotOf[0] = 0
    var free: [Int] = []
    var count = 1
    var steps: [(inputs: [Int], output: Int, released: [Int])] = []
    for (s, group) in groups.enumerated() {
      let inputs = graph.nodeInputs[group.node].map { slotOf[$0] }
      let output: Int
      if let lowest = free.min() {
        output = lowest
        free.removeAll { $0 == lowest }
      } else {
        output = count
        count += 1
      }
      slotOf[group.output] = output
      var released: [Int] = []
      for t in Set(graph.nodeInputs[group.node]) where lastRead[t] == s {
        released.append(slotOf[t])
      }
      released.sort()
      free += released
      steps.append((inputs, output, released))
    }
    return (steps, count, slotOf[target], slotOf)
  }
}

extension FusionRole {
  /// An element-wise activation that a oneDNN operation folds as a post-op.
  fileprivate var isActivation: Bool {
    switch self {
    case .relu, .clip: true
    case .maxPooling, .softmax: false
    }
  }
}
