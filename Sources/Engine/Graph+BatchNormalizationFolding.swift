import Tensors

extension Graph {
  /// The graph with every batch normalisation that directly follows a
  /// convolution folded into it (`Conv2D.folding(_:)`), where the
  /// convolution's output is read by that batch normalisation alone and is
  /// not the graph's output: the convolution node keeps its name, writes
  /// the batch normalisation's tensor, and the batch normalisation node is
  /// gone. Decided once, when a model is loaded (the ONNX importer calls
  /// it; any other importer may); outputs change only by rounding.
  public func foldingBatchNormalizations() throws(EngineError) -> Graph {
    var readers: [String: Int] = [:]
    for node in nodes {
      for name in node.inputs { readers[name, default: 0] += 1 }
    }
    var folded = nodes
    var removed = Set<Int>()
    for (k, node) in nodes.enumerated() {
      guard let norm = node.op as? BatchNormalization, node.inputs.count == 1,
        node.inputs[0] != output, readers[node.inputs[0]] == 1,
        let producer = folded.firstIndex(where: { $0.output == node.inputs[0] }),
        !removed.contains(producer), let conv = folded[producer].op as? Conv2D,
        let merged = conv.folding(norm)
      else { continue }
      folded[producer].op = merged
      folded[producer].output = node.output
      removed.insert(k)
    }
    guard !removed.isEmpty else { return self }
    return try Graph(
      input: input, shape: inputShape,
      nodes: folded.indices.filter { !removed.contains($0) }.map { folded[$0] }, output: output)
  }
}
