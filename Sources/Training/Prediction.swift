import Engine
import ModelFormats
import Tensors

/// One candidate class for an image.
public struct ClassProbability: Equatable, Sendable {
  public var classIndex: Int
  /// The class name when the model file records one.
  public var label: String?
  public var probability: Float

  /// The `k` most probable classes of one row of probabilities, most
  /// probable first, ties by lower class index.
  public static func ranked(
    _ probabilities: [Float], k: Int, classNames: [String] = []
  )
    -> [ClassProbability]
  {
    precondition(k >= 1, "k must be at least 1")
    let order = probabilities.indices.sorted {
      probabilities[$0] > probabilities[$1]
        || (probabilities[$0] == probabilities[$1] && $0 < $1)
    }
    return order.prefix(k).map { c in
      ClassProbability(
        classIndex: c, label: c < classNames.count ? classNames[c] : nil,
        probability: probabilities[c])
    }
  }
}

extension Sequential {
  /// Checks that `images` fit the input and that the output is a vector
  /// of class scores.
  func checkClassifier(_ images: Tensor) throws(TrainerError) {
    guard images.shape.rank == 4, images.sampleShape == inputShape else {
      let found = images.shape.rank == 4 ? images.sampleShape : images.shape
      throw .inputShapeMismatch(expected: FeatureShape(inputShape), found: found)
    }
    guard outputShape.rank == 1 else { throw .outputNotClasses(FeatureShape(outputShape)) }
  }

  /// The `k` most probable classes of each image, most probable first (ties
  /// by lower class index).
  ///
  /// `images` is (N, C, H, W) in [0, 1]. When the model does not end in
  /// softmax its outputs are passed through one, so they always sum to 1.
  public mutating func topClasses(
    _ images: Tensor, k: Int, classNames: [String] = [], batchSize: Int = 100
  ) throws(TrainerError) -> [[ClassProbability]] {
    precondition(k >= 1, "k must be at least 1")
    try checkClassifier(images)
    var output: Tensor
    do {
      output = try predict(images, batchSize: batchSize)
    } catch {
      throw .engine(error)
    }
    let classes = output.shape[1]
    if !endsInSoftmax {
      output.storage.withUnsafeMutableBufferPointer {
        Activation.softmaxRows($0, features: classes)
      }
    }
    return (0..<output.shape[0]).map { n in
      ClassProbability.ranked(
        Array(output.storage[(n * classes)..<((n + 1) * classes)]), k: k, classNames: classNames)
    }
  }
}

/// A model's full output for a batch of images: what `predict --format
/// json|csv` prints.
public struct ImageScores: Equatable, Sendable {
  /// (N, classes): the values under the model's final softmax (the logits)
  /// when it ends in one, else its outputs.
  public var scores: Tensor
  /// (N, classes): the softmax probabilities, exactly those `topClasses`
  /// ranks.
  public var probabilities: Tensor
  /// Whether `scores` are logits under a final softmax.
  public var scoresAreLogits: Bool

  public init(scores: Tensor, probabilities: Tensor, scoresAreLogits: Bool) {
    self.scores = scores
    self.probabilities = probabilities
    self.scoresAreLogits = scoresAreLogits
  }
}

extension Sequential {
  /// Scores and probabilities of every image (see `ImageScores`). `images`
  /// is (N, C, H, W) in [0, 1].
  public mutating func scores(
    _ images: Tensor, batchSize: Int = 100
  ) throws(TrainerError) -> ImageScores {
    try checkClassifier(images)
    // A model ending in softmax runs once, to the logits under it; the
    // probabilities are that same softmax applied to them, so the network
    // does not run a second time.
    if endsInSoftmax,
      let last = graph.nodes.last(where: { $0.output == graph.output }),
      last.op.fusionRole == .softmax, last.inputs.count == 1
    {
      var parts: [Tensor] = []
      for start in stride(from: 0, to: images.batchCount, by: batchSize) {
        let batch = images.samples(start..<min(start + batchSize, images.batchCount))
        do {
          parts.append(try activation(of: last.inputs[0], for: batch))
        } catch {
          throw .engine(error)
        }
      }
      let logits = Tensor.concatenatingSamples(parts)
      var probabilities = logits
      let classes = logits.shape[1]
      probabilities.storage.withUnsafeMutableBufferPointer {
        Activation.softmaxRows($0, features: classes)
      }
      return ImageScores(scores: logits, probabilities: probabilities, scoresAreLogits: true)
    }
    var probabilities: Tensor
    do {
      probabilities = try predict(images, batchSize: batchSize)
    } catch {
      throw .engine(error)
    }
    let scores = probabilities
    let classes = probabilities.shape[1]
    if !endsInSoftmax {
      probabilities.storage.withUnsafeMutableBufferPointer {
        Activation.softmaxRows($0, features: classes)
      }
    }
    return ImageScores(scores: scores, probabilities: probabilities, scoresAreLogits: false)
  }
}
