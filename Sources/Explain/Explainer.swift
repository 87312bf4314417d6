import Engine
import Foundation
import Tensors

/// Computes attribution maps for a network: class activation maps at a
/// spatial layer, input-gradient maps and occlusion.
///
/// Inputs are one image, (1, C, H, W) at the network's input shape. The
/// forward passes run with dropout off (`Mode.inferenceWithGradients`),
/// and backward passes leave the network's parameter gradients alone
/// (neither computed nor made); methods that need many passes (SmoothGrad, integrated gradients,
/// occlusion) run them `batchSize` samples at a time.
public struct Explainer: Sendable {
  public internal(set) var network: Network
  public var batchSize: Int

  public init(network: Network, batchSize: Int = 32) {
    precondition(batchSize >= 1, "batch size must be at least 1")
    self.network = network
    self.batchSize = batchSize
  }

  /// The number of classes (output features).
  public var classCount: Int { network.outputShape.count }

  // MARK: Layers

  /// The graph's tensors with (C, H, W) output, in node order.
  public var spatialLayers: [String] {
    network.graph.nodes.indices.compactMap { k in
      network.graph.tensorShapes[k + 1].rank == 3 ? network.graph.nodes[k].output : nil
    }
  }

  /// The default layer of the class activation maps: the output of the
  /// last convolution whose maps are still larger than 1×1, or of the
  /// activation that reads it alone (as Keras builds a Conv2D with
  /// `activation=`); nil when the model has no convolution.
  public var defaultLayer: String? {
    let nodes = network.graph.nodes
    let shapes = network.graph.tensorShapes
    for k in nodes.indices.reversed() where nodes[k].op.kind == "Conv2D" {
      let shape = shapes[k + 1]
      guard shape.rank == 3, shape[1] > 1 || shape[2] > 1 else { continue }
      let readers = nodes.indices.filter { nodes[$0].inputs.contains(nodes[k].output) }
      if readers.count == 1, nodes[readers[0]].op.kind == "Activation" {
        return nodes[readers[0]].output
      }
      return nodes[k].output
    }
    return nil
  }

  /// Checks that `layer` names a spatial tensor.
  public func checkLayer(_ layer: String) throws(ExplainError) {
    let valid = spatialLayers
    guard let k = network.graph.nodes.firstIndex(where: { $0.output == layer }) else {
      throw .noSuchLayer(layer, valid: valid)
    }
    let shape = network.graph.tensorShapes[k + 1]
    guard shape.rank == 3 else { throw .notSpatial(layer: layer, shape: shape, valid: valid) }
  }

  // MARK: Scores

  /// Class scores (N, classes) for `input`: the logits under a final
  /// softmax, else the output.
  public mutating func scores(_ input: Tensor) throws(ExplainError) -> Tensor {
    var parts: [Tensor] = []
    let n = input.batchCount
    for start in stride(from: 0, to: n, by: batchSize) {
      let batch = input.samples(start..<min(start + batchSize, n))
      do {
        let plan = try ExecutionPlan(
          graph: network.graph, inputShape: batch.sampleShape, softmaxToLoss: true)
        parts.append(try network.activation(of: plan.output, for: batch))
      } catch {
        throw .engine(error)
      }
    }
    return Tensor.concatenatingSamples(parts)
  }

  /// Softmax of one row of scores.
  static func probabilities(_ scores: [Float]) -> [Float] {
    let top = scores.max() ?? 0
    let e = scores.map { Foundation.exp($0 - top) }
    let sum = e.reduce(0, +)
    return e.map { $0 / sum }
  }

  /// Classes of one image by probability, highest first (ties by index),
  /// with their probabilities.
  public mutating func rankedClasses(_ input: Tensor) throws(ExplainError) -> [(Int, Float)] {
    let p = Self.probabilities(try scores(input).storage)
    return p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }.map { ($0, p[$0]) }
  }

  // MARK: Explaining

  /// The map of `method` for class `classIndex` of `input` (1, C, H, W).
  public mutating func explain(
    _ input: Tensor, classIndex: Int, method: AttributionMethod
  ) throws(ExplainError) -> Attribution {
    precondition(
      input.shape.rank == 4 && input.batchCount == 1, "one image (1, C, H, W) expected")
    guard classIndex >= 0, classIndex < classCount else {
      throw .classOutOfRange(classIndex, classCount: classCount)
    }
    // The gradient methods take the class scores from their own forward
    // pass (one forward and one backward in all); the others score first.
    var computedScores: [Float]?
    let (height, width) = (input.shape[2], input.shape[3])
    var layerMap: Tensor?
    var baselineScore: Float?
    let map: Tensor
    switch method {
    case .gradCAM(let layer), .gradCAMPlusPlus(let layer), .layerCAM(let layer):
      try checkLayer(layer)
      let (activation, gradient, logits) = try layerGradientAndScores(
        input, classIndex: classIndex, layer: layer)
      computedScores = logits.storage
      let cam = Self.classActivationMap(activation: activation, gradient: gradient, method: method)
      layerMap = cam
      map = Bilinear.resize(cam, height: height, width: width)
    case .scoreCAM(let layer):
      try checkLayer(layer)
      let cam = try scoreCAM(input, classIndex: classIndex, layer: layer)
      layerMap = cam
      map = Bilinear.resize(cam, height: height, width: width)
    case .saliency:
      let (g, logits) = try inputGradientsAndScores(input, classIndex: classIndex)
      computedScores = logits.storage
      map = Self.maxAbsOverChannels(g)
    case .smoothGrad(let samples, let noise, let seed):
      map = try smoothGrad(
        input, classIndex: classIndex, samples: samples, noise: noise, seed: seed)
    case .integratedGradients(let steps, let baseline):
      guard baseline.shape == input.shape else {
        throw .baselineShape(expected: input.sampleShape, found: baseline.sampleShape)
      }
      map = try integratedGradients(
        input, classIndex: classIndex, steps: steps, baseline: baseline
      ).channelSum
      baselineScore = try scores(baseline).storage[classIndex]
    case .occlusion(let window, let stride):
      let classScores = try scores(input).storage
      computedScores = classScores
      map = try occlusion(
        input, classIndex: classIndex, window: window, stride: stride,
        score: classScores[classIndex])
    case .guidedBackprop:
      map = Self.maxAbsOverChannels(
        try guidedGradients(input, classIndex: classIndex, method: "guided-backprop"))
    case .guidedGradCAM(let layer):
      try checkLayer(layer)
      let (cam, guided) = try guidedGradCAM(input, classIndex: classIndex, layer: layer)
      layerMap = cam
      map = guided
    }
    let classScores: [Float]
    if let computedScores {
      classScores = computedScores
    } else {
      classScores = try scores(input).storage
    }
    let probability = Self.probabilities(classScores)[classIndex]
    return Attribution(
      map: map, layerMap: layerMap, classIndex: classIndex, score: classScores[classIndex],
      probability: probability, baselineScore: baselineScore)
  }

  /// The layer's activation (K, h, w) and the gradient of class
  /// `classIndex`'s score there, for one image: one forward and a
  /// backward that stops at the layer.
  public mutating func layerGradient(
    _ input: Tensor, classIndex: Int, layer: String
  ) throws(ExplainError) -> (activation: Tensor, gradient: Tensor) {
    let (activation, gradient, _) = try layerGradientAndScores(
      input, classIndex: classIndex, layer: layer)
    return (activation, gradient)
  }

  /// `layerGradient`, also returning the class scores (1, classes) of the
  /// same forward pass.
  mutating func layerGradientAndScores(
    _ input: Tensor, classIndex: Int, layer: String
  ) throws(ExplainError) -> (activation: Tensor, gradient: Tensor, scores: Tensor) {
    do {
      let run = try network.forwardForGradients(input, keeping: layer, logits: true)
      let back = try network.backwardForGradients(
        Self.oneHot(classIndex, batch: 1, classes: classCount), inputGradient: false,
        parameterGradients: false)
      guard let activation = run.activation, let gradient = back.dActivation else {
        preconditionFailure("a kept layer has an activation and a gradient")
      }
      let sample = activation.sampleShape
      return (
        Tensor(shape: sample, storage: activation.storage),
        Tensor(shape: sample, storage: gradient.storage), run.output
      )
    } catch {
      throw .engine(error)
    }
  }

  /// The gradient of class `classIndex`'s score at each sample of `input`
  /// (N, C, H, W), `batchSize` samples per pass.
  public mutating func inputGradients(
    _ input: Tensor, classIndex: Int
  ) throws(ExplainError) -> Tensor {
    try inputGradientsAndScores(input, classIndex: classIndex).gradients
  }

  /// `inputGradients`, also returning the class scores (N, classes) of the
  /// same forward passes.
  mutating func inputGradientsAndScores(
    _ input: Tensor, classIndex: Int
  ) throws(ExplainError) -> (gradients: Tensor, scores: Tensor) {
    var parts: [Tensor] = []
    var outputs: [Tensor] = []
    let n = input.batchCount
    for start in stride(from: 0, to: n, by: batchSize) {
      let batch = input.samples(start..<min(start + batchSize, n))
      do {
        outputs.append(try network.forwardForGradients(batch, logits: true).output)
        let back = try network.backwardForGradients(
          Self.oneHot(classIndex, batch: batch.batchCount, classes: classCount),
          inputGradient: true, parameterGradients: false)
        guard let d = back.dInput else { preconditionFailure("input gradient asked for") }
        parts.append(d)
      } catch {
        throw .engine(error)
      }
    }
    return (Tensor.concatenatingSamples(parts), Tensor.concatenatingSamples(outputs))
  }

  static func oneHot(_ index: Int, batch: Int, classes: Int) -> Tensor {
    var t = Tensor(zeros: Shape(batch, classes))
    for n in 0..<batch { t.storage[n * classes + index] = 1 }
    return t
  }

  /// max over channels of |g| for each pixel of (1, C, H, W) → (H, W).
  static func maxAbsOverChannels(_ g: Tensor) -> Tensor {
    let (c, h, w) = (g.shape[1], g.shape[2], g.shape[3])
    var map = Tensor(zeros: Shape(h, w))
    for k in 0..<c {
      for i in 0..<(h * w) { map.storage[i] = max(map.storage[i], abs(g.storage[k * h * w + i])) }
    }
    return map
  }
}

extension Tensor {
  /// The sum over channels of (1, C, H, W) → (H, W).
  var channelSum: Tensor {
    let (c, h, w) = (shape[1], shape[2], shape[3])
    var map = Tensor(zeros: Shape(h, w))
    for k in 0..<c {
      for i in 0..<(h * w) { map.storage[i] += storage[k * h * w + i] }
    }
    return map
  }
}
