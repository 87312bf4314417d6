import Tensors

/// A stack of layers applied in order, with the per-sample input shape.
///
/// Input (N, inputShape...) → (N, outputShape...). `trainingStep` runs
/// forward in training mode, the loss, and backward; when the last layer is a
/// softmax it is fused with the cross-entropy (stable, on the logits), as
/// Keras does. Parameters are visited layer by layer in a fixed order.
///
/// A `Conv2D` without activation followed by `Activation(.relu)` runs as one
/// fused step (ReLU applied in the convolution's output pass, its mask in
/// the convolution's backward), and so does a `Conv2D` followed by max
/// pooling (each image pooled while its maps are in cache, when the
/// convolution's fast path applies); the layer list and the results stay
/// the same.
public struct Sequential: Sendable {
  public let inputShape: Shape
  public var layers: [any Layer]
  /// Layers whose work the previous layer did in the last forward pass.
  private var fusedIntoPrevious: [Bool] = []

  /// Checks that each layer accepts the previous layer's output shape.
  public init(inputShape: Shape, layers: [any Layer]) {
    self.inputShape = inputShape
    self.layers = layers
    _ = layerOutputShapes()
  }

  /// The per-sample output shape of every layer, in order.
  public func layerOutputShapes() -> [Shape] {
    var shape = inputShape
    return layers.map { layer in
      shape = layer.outputShape(for: shape)
      return shape
    }
  }

  public var outputShape: Shape { layerOutputShapes().last ?? inputShape }

  public mutating func forward(_ input: Tensor, mode: Mode) -> Tensor {
    forward(input, mode: mode, layerCount: layers.count)
  }

  /// Runs the first `layerCount` layers; with `logits`, a final Dense layer
  /// with softmax stops before its activation.
  private mutating func forward(
    _ input: Tensor, mode: Mode, layerCount: Int, logits: Bool = false
  ) -> Tensor {
    precondition(input.sampleShape == inputShape,
      "model expects samples of shape \(inputShape), got \(input.sampleShape)")
    var x = input
    fusedIntoPrevious = Array(repeating: false, count: layers.count)
    var i = 0
    while i < layerCount {
      if logits && i == layerCount - 1, var dense = layers[i] as? Dense {
        x = dense.forward(x, mode: mode, applyingActivation: false)
        layers[i] = dense
      } else if var conv = layers[i] as? Conv2D {
        // Conv2D [+ Activation(.relu)] [+ max Pooling2D] run as one step.
        let convIndex = i
        let reluNext =
          conv.activation == .linear && i + 1 < layerCount
          && (layers[i + 1] as? Activation)?.function == .relu
        let poolIndex = i + (reluNext ? 2 : 1)
        if poolIndex < layerCount, let pool = layers[poolIndex] as? Pooling2D,
          conv.canFusePooling(pool, inputShape: x.shape)
        {
          x = conv.forward(x, mode: mode, fusingReLU: reluNext, pooling: pool)
          for fused in (i + 1)...poolIndex { fusedIntoPrevious[fused] = true }
          i = poolIndex
        } else {
          x = conv.forward(x, mode: mode, fusingReLU: reluNext)
          if reluNext {
            fusedIntoPrevious[i + 1] = true
            i += 1
          }
        }
        layers[convIndex] = conv
      } else {
        x = layers[i].forward(x, mode: mode)
      }
      i += 1
    }
    return x
  }

  /// Backpropagates `dOutput` through the first `layerCount` layers (all by
  /// default), adding into parameter gradients. The first layer skips its
  /// input gradient, which nothing needs.
  public mutating func backward(_ dOutput: Tensor, layerCount: Int? = nil) {
    var d = dOutput
    let count = layerCount ?? layers.count
    guard count > 0 else { return }
    for i in stride(from: count - 1, through: 1, by: -1) where !isFused(i) {
      d = layers[i].backward(d)
    }
    layers[0].backwardParametersOnly(d)
  }

  private func isFused(_ index: Int) -> Bool {
    index < fusedIntoPrevious.count && fusedIntoPrevious[index]
  }

  /// One training step on a batch: zeroes the gradients, then forward,
  /// cross-entropy against class-index `labels`, and backward. Returns the
  /// mean loss and the model's output (probabilities if it ends in softmax).
  public mutating func trainingStep(input: Tensor, labels: [Int]) -> (loss: Float, output: Tensor) {
    zeroGradients()
    let softmaxLayer = (layers.last as? Activation)?.function == .softmax
    let softmaxDense = (layers.last as? Dense)?.activation == .softmax
    if softmaxLayer || softmaxDense {
      // Keep the logits and let the loss apply softmax stably.
      let count = softmaxLayer ? layers.count - 1 : layers.count
      let logits = forward(input, mode: .training, layerCount: count, logits: softmaxDense)
      let result = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: labels)
      backward(result.dLogits, layerCount: count)
      return (result.loss, result.probabilities)
    }
    let output = forward(input, mode: .training)
    let result = SoftmaxCrossEntropy.lossAndGradient(probabilities: output, labels: labels)
    backward(result.dProbabilities)
    return (result.loss, output)
  }

  /// Inference-mode outputs for `input`, computed `batchSize` samples at a time
  /// to bound memory.
  public mutating func predict(_ input: Tensor, batchSize: Int = 100) -> Tensor {
    precondition(batchSize >= 1, "batch size must be at least 1")
    let n = input.batchCount
    guard n > batchSize else { return forward(input, mode: .inference) }
    var parts: [Tensor] = []
    for start in stride(from: 0, to: n, by: batchSize) {
      parts.append(forward(input.samples(start..<min(start + batchSize, n)), mode: .inference))
    }
    return Tensor.concatenatingSamples(parts)
  }

  /// Mean cross-entropy and accuracy of inference-mode predictions.
  public mutating func evaluate(input: Tensor, labels: [Int], batchSize: Int = 100) -> (
    loss: Float, accuracy: Double
  ) {
    let output = predict(input, batchSize: batchSize)
    let loss = SoftmaxCrossEntropy.lossAndGradient(probabilities: output, labels: labels).loss
    let predicted = output.argmaxPerSample()
    let correct = zip(predicted, labels).filter { $0 == $1 }.count
    return (loss, labels.isEmpty ? 0 : Double(correct) / Double(labels.count))
  }

  /// Visits every parameter, layer by layer, in a fixed order.
  public mutating func forEachParameter(_ body: (inout Parameter) -> Void) {
    for i in layers.indices { layers[i].forEachParameter(body) }
  }

  public mutating func zeroGradients() {
    forEachParameter { $0.grad.zero() }
  }

  /// The total number of trainable scalars.
  public var parameterCount: Int {
    var copy = self
    var total = 0
    copy.forEachParameter { total += $0.value.count }
    return total
  }

  /// The random-generator state of each layer (nil for layers without one),
  /// for checkpoints. Setting restores the layers that have a generator.
  public var generatorStates: [[UInt64]?] {
    get { layers.map(\.generatorState) }
    set {
      precondition(newValue.count == layers.count, "one state per layer expected")
      for i in layers.indices { layers[i].generatorState = newValue[i] }
    }
  }
}
