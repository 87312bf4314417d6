import Tensors

/// What running a model will take, worked out from its spec alone, so that a
/// command can refuse a model that cannot fit before building it.
///
/// The estimates count Float32 tensors; they leave out code, stacks and
/// buffers that do not grow with the model. On the engine of 2026-12 the
/// activation terms came out about twice what training measured (peak RSS
/// per extra sample of `mnist-cnn`, batch 100 against 1000: 41k floats per
/// sample against an estimate of 95k), which leaves room for unfused layers.
extension ModelSpec {
  /// The weights alone: every parameter as a Float32.
  public var parameterMemory: MemoryEstimate {
    MemoryEstimate.sum(parameterShapes.map { .array(of: Float.self, $0.shape.dims) })
  }

  /// A training run with batches of `batchSize` samples and `optimizer`:
  /// - weights, their gradients and the optimizer's slots;
  /// - a checkpoint being encoded (weights and slots, twice: the body and
  ///   the file around it);
  /// - each sample's input and every layer's output, kept for backward,
  ///   plus the two largest again for the gradients flowing through.
  /// The data set is not included (see the caller).
  public func trainingMemory(
    batchSize: Int, optimizer: OptimizerConfiguration
  )
    -> MemoryEstimate
  {
    let weights = parameterMemory
    let slots = optimizer.slotCount
    let state = weights * (2 + slots)
    let checkpoint = weights * (1 + slots) * 2
    let counts = featureCounts(input: input, through: layers.count - 1)
    let largest = counts.sorted(by: >).prefix(2)
    let perSample = MemoryEstimate.sum(counts.map { .floats($0) } + largest.map { .floats($0) })
    return state + checkpoint + perSample * batchSize
  }

  /// Inference on batches of `batchSize` samples shaped `input` (default:
  /// the spec's own input) through layer `last` (default: all): the
  /// weights, the batch, and the largest input and output of one layer
  /// alive together.
  public func inferenceMemory(
    batchSize: Int, input: FeatureShape? = nil, through last: Int? = nil
  ) -> MemoryEstimate {
    let counts = featureCounts(
      input: input ?? self.input, through: last ?? (layers.count - 1))
    var largestStep = MemoryEstimate.zero
    for (before, after) in zip(counts, counts.dropFirst()) {
      largestStep = max(largestStep, .floats(before) + .floats(after))
    }
    let batchInput = MemoryEstimate.floats(counts.first ?? 0)
    return parameterMemory + (batchInput + largestStep) * batchSize
  }

  /// The per-sample output shape of layer `last` for an input of any
  /// size (a photo for feature maps), or nil when a window no longer fits
  /// on the way.
  public func outputShape(forInput input: FeatureShape, through last: Int) -> FeatureShape? {
    let shapes = featureShapes(input: input, through: last)
    return shapes.count == last + 2 ? shapes.last : nil
  }

  /// `input` and each layer's output up to layer `last`. Stops at a layer
  /// whose window no longer fits: running it fails anyway, with its own
  /// error.
  func featureShapes(input: FeatureShape, through last: Int) -> [FeatureShape] {
    var shapes = [input]
    for (index, layer) in layers.enumerated() where index <= last {
      guard let next = try? Self.outputShape(of: layer, input: shapes[index], line: index + 2)
      else { break }
      shapes.append(next)
    }
    return shapes
  }

  /// Values per sample of each of `featureShapes`; `Int.max` for a count
  /// too large for `Int`.
  func featureCounts(input: FeatureShape, through last: Int) -> [Int] {
    featureShapes(input: input, through: last).map(Self.checkedCount)
  }

  private static func checkedCount(_ shape: FeatureShape) -> Int {
    switch shape {
    case .image(let h, let w, let c): return checkedProduct([h, w, c]) ?? Int.max
    case .flat(let n): return n
    }
  }
}

extension OptimizerConfiguration {
  /// Tensors the optimizer keeps per parameter: Adadelta's two running
  /// averages, Adam's two moments, RMSprop's average (and momentum), SGD's
  /// momentum when it has one.
  public var slotCount: Int {
    switch self {
    case .sgd(_, let momentum, _): return momentum > 0 ? 1 : 0
    case .adadelta, .adam: return 2
    case .rmsprop(_, _, let momentum, _): return momentum > 0 ? 2 : 1
    }
  }
}
