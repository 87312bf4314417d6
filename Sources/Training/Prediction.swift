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
  /// The `k` most probable classes of each image, most probable first (ties
  /// by lower class index).
  ///
  /// `images` is (N, C, H, W) in [0, 1]. When the model does not end in
  /// softmax its outputs are passed through one, so they always sum to 1.
  public mutating func topClasses(
    _ images: Tensor, k: Int, classNames: [String] = [], batchSize: Int = 100
  ) throws(TrainerError) -> [[ClassProbability]] {
    precondition(k >= 1, "k must be at least 1")
    guard images.shape.rank == 4, images.sampleShape == inputShape else {
      let found = images.shape.rank == 4 ? images.sampleShape : images.shape
      let expected: FeatureShape =
        inputShape.rank == 3
        ? .image(height: inputShape[1], width: inputShape[2], channels: inputShape[0])
        : .flat(inputShape.count)
      throw .inputShapeMismatch(expected: expected, found: found)
    }
    guard outputShape.rank == 1 else {
      let o = outputShape
      throw .outputNotClasses(
        o.rank == 3 ? .image(height: o[1], width: o[2], channels: o[0]) : .flat(o.count))
    }
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
