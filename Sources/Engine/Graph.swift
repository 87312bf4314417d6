import Tensors

/// A network as a directed acyclic graph of operations over named tensors:
/// the intermediate representation every model format reads into and the
/// planner turns into an `ExecutionPlan`.
///
/// The graph has one input tensor with a per-sample shape and one output
/// tensor; each node reads one or more tensors and produces one, named
/// after it. A sequential network is the special case of a chain. Nodes
/// are kept in a topological order (the given order when it already is
/// one), so index order is execution order; nodes hold their operations
/// with parameters and caches, which the executor updates in place.
public struct Graph: Sendable {
  public struct Node: Sendable {
    public var name: String
    public var op: any Operation
    public var inputs: [String]
    public var output: String

    public init(_ name: String, _ op: any Operation, inputs: [String], output: String? = nil) {
      self.name = name
      self.op = op
      self.inputs = inputs
      self.output = output ?? name
    }
  }

  public let input: String
  /// The per-sample input shape the graph was built for.
  public let inputShape: Shape
  public let output: String
  public internal(set) var nodes: [Node]
  /// Tensor names by index: the input is 0, node k's output is k + 1.
  let tensorNames: [String]
  let tensorIndex: [String: Int]
  /// The tensor indices each node reads.
  let nodeInputs: [[Int]]
  /// The per-sample shape of every tensor at `inputShape`: the input's
  /// first, then node k's output at k + 1.
  public let tensorShapes: [Shape]

  /// Orders the nodes, checks every reference, and infers every shape.
  public init(
    input: String, shape: Shape, nodes: [Node], output: String
  ) throws(EngineError) {
    let ordered = try Self.topologicallySorted(nodes, input: input)
    var names = [input]
    var index = [input: 0]
    for node in ordered {
      guard index[node.output] == nil else { throw .duplicateTensor(node.output) }
      index[node.output] = names.count
      names.append(node.output)
    }
    guard index[output] != nil else { throw .noSuchTensor(output) }
    self.input = input
    self.inputShape = shape
    self.output = output
    self.nodes = ordered
    tensorNames = names
    tensorIndex = index
    nodeInputs = ordered.map { node in node.inputs.compactMap { index[$0] } }
    tensorShapes = try Self.inferShapes(
      nodes: ordered, nodeInputs: nodeInputs, included: ordered.indices, inputShape: shape)
  }

  /// A chain: each layer reads the previous one's output. Tensors are named
  /// "input" and, for layer k, "k".
  public init(chain layers: [any Layer], inputShape: Shape) throws(EngineError) {
    let nodes = layers.indices.map { k in
      Node("\(k)", layers[k], inputs: [k == 0 ? "input" : "\(k - 1)"])
    }
    try self.init(
      input: "input", shape: inputShape, nodes: nodes,
      output: layers.isEmpty ? "input" : "\(layers.count - 1)")
  }

  /// The node producing tensor `index`; nil for the input.
  func producer(ofTensor index: Int) -> Int? { index == 0 ? nil : index - 1 }

  /// The tensor index of `name`.
  func tensor(named name: String) throws(EngineError) -> Int {
    guard let index = tensorIndex[name] else { throw .noSuchTensor(name) }
    return index
  }

  /// Per-sample shapes of the input and of the outputs of nodes `included`
  /// (ascending, closed under inputs) for `inputShape`; tensors outside
  /// keep an empty shape.
  static func inferShapes(
    nodes: [Node], nodeInputs: [[Int]], included: some Sequence<Int>, inputShape: Shape
  ) throws(EngineError) -> [Shape] {
    var shapes = [Shape](repeating: Shape([]), count: nodes.count + 1)
    shapes[0] = inputShape
    for k in included {
      do {
        shapes[k + 1] = try nodes[k].op.outputShape(for: nodeInputs[k].map { shapes[$0] })
      } catch {
        throw .node(nodes[k].name, error)
      }
    }
    return shapes
  }

  /// Kahn's algorithm, always taking the earliest ready node, so a list in
  /// topological order stays as it is.
  private static func topologicallySorted(
    _ nodes: [Node], input: String
  ) throws(EngineError) -> [Node] {
    var producers: [String: Int] = [:]
    for (k, node) in nodes.enumerated() {
      guard node.output != input, producers[node.output] == nil else {
        throw .duplicateTensor(node.output)
      }
      producers[node.output] = k
    }
    var waitingOn = [Int](repeating: 0, count: nodes.count)
    var readers = [[Int]](repeating: [], count: nodes.count)
    for (k, node) in nodes.enumerated() {
      for name in node.inputs where name != input {
        guard let producer = producers[name] else {
          throw .undefinedTensor(node: node.name, tensor: name)
        }
        waitingOn[k] += 1
        readers[producer].append(k)
      }
    }
    var ready = Set(nodes.indices.filter { waitingOn[$0] == 0 })
    var order: [Node] = []
    while let next = ready.min() {
      ready.remove(next)
      order.append(nodes[next])
      for reader in readers[next] {
        waitingOn[reader] -= 1
        if waitingOn[reader] == 0 { ready.insert(reader) }
      }
    }
    guard order.count == nodes.count else {
      throw .cycle(nodes: nodes.indices.filter { waitingOn[$0] > 0 }.map { nodes[$0].name })
    }
    return order
  }
}
