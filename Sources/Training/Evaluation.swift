import Engine
import ModelFormats
import Tensors

/// A model's loss, accuracy and confusion matrix on labelled data.
public struct Evaluation: Equatable, Sendable {
  /// Mean categorical cross-entropy.
  public var loss: Double
  public var accuracy: Double
  /// `confusion[actual][predicted]` counts samples; classes × classes.
  public var confusion: [[Int]]

  public var count: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }

  /// Per-class recall (diagonal / row sum); nil for classes with no samples.
  public var classAccuracies: [Double?] {
    confusion.indices.map { c in
      let total = confusion[c].reduce(0, +)
      return total == 0 ? nil : Double(confusion[c][c]) / Double(total)
    }
  }
}

extension Sequential {
  /// Evaluates in inference mode, `batchSize` samples at a time.
  ///
  /// Throws when the images do not fit `spec`'s input or a label is not one
  /// of its classes.
  public mutating func evaluation(
    on data: LabeledData, spec: ModelSpec, batchSize: Int = 100
  ) throws(TrainerError) -> Evaluation {
    try data.validate(for: spec)
    let classes = spec.outputShape.count
    var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
    guard data.count > 0 else { return Evaluation(loss: 0, accuracy: 0, confusion: confusion) }
    let output = predict(data.images, batchSize: batchSize)
    let loss = SoftmaxCrossEntropy.lossAndGradient(probabilities: output, labels: data.labels).loss
    var correct = 0
    for (predicted, actual) in zip(output.argmaxPerSample(), data.labels) {
      confusion[actual][predicted] += 1
      if predicted == actual { correct += 1 }
    }
    return Evaluation(
      loss: Double(loss), accuracy: Double(correct) / Double(data.count), confusion: confusion)
  }
}
