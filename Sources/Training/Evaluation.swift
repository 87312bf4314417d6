import Datasets
import Engine
import ModelFormats
import Tensors

/// A model's loss, accuracy, predictions and confusion matrix on labelled data.
public struct Evaluation: Equatable, Sendable {
  /// Mean categorical cross-entropy of the model's probabilities: of its
  /// outputs when it ends in softmax, else of the softmax of its outputs
  /// (see `lossFromLogits`).
  public var loss: Double
  public var accuracy: Double
  /// `confusion[actual][predicted]` counts samples; classes × classes.
  public var confusion: [[Int]]
  /// The predicted class of each evaluated sample, in order.
  public var predicted: [Int]
  /// Whether the model ends without softmax, so that its outputs were
  /// taken as logits and the loss computed through a softmax (PyTorch's
  /// `CrossEntropyLoss` on the outputs).
  public var lossFromLogits = false

  public var count: Int { predicted.count }
}

extension Sequential {
  /// The one evaluation routine: `evaluate`, `report` and the trainer's
  /// validation all come here.
  ///
  /// Checks that `data` fits `spec` (input shape, one output per class,
  /// labels among the classes), then evaluates (see
  /// `evaluation(on:samples:classCount:batchSize:)`).
  public mutating func evaluation(
    on data: Dataset, spec: ModelSpec, batchSize: Int = 100,
    progress: (_ samplesDone: Int) -> Void = { _ in }
  ) throws(TrainerError) -> Evaluation {
    let classes = try data.check(for: spec)
    return try evaluation(on: data, classCount: classes, batchSize: batchSize, progress: progress)
  }

  /// The same for a network without a spec (an imported model): `data`
  /// must have samples shaped `input`, and the network's output must be
  /// one score per class.
  public mutating func evaluation(
    on data: Dataset, input: FeatureShape, batchSize: Int = 100,
    progress: (_ samplesDone: Int) -> Void = { _ in }
  ) throws(TrainerError) -> Evaluation {
    let output = outputShape
    let classes = try data.check(
      input: input, classCount: output.rank == 1 ? output[0] : nil,
      output: FeatureShape(output))
    return try evaluation(on: data, classCount: classes, batchSize: batchSize, progress: progress)
  }

  /// Samples `range` of `data` (all by default) in inference mode,
  /// `batchSize` at a time; labels must be below `classCount`. `progress`
  /// hears how many samples are done after each batch.
  ///
  /// The loss is the mean of the batch losses weighted by batch size: the
  /// arithmetic the trainer's validation has always used, whose results are
  /// stored in model files (so batch sizes matter in the last digits).
  public mutating func evaluation(
    on data: Dataset, samples range: Range<Int>? = nil, classCount: Int, batchSize: Int = 100,
    progress: (_ samplesDone: Int) -> Void = { _ in }
  ) throws(TrainerError) -> Evaluation {
    precondition(batchSize >= 1, "batch size must be at least 1")
    let range = range ?? 0..<data.count
    var confusion = [[Int]](
      repeating: [Int](repeating: 0, count: classCount), count: classCount)
    var predicted: [Int] = []
    predicted.reserveCapacity(range.count)
    var lossSum = 0.0
    var correct = 0
    for start in stride(from: range.lowerBound, to: range.upperBound, by: batchSize) {
      let (images, labels) = data.batch(start..<min(start + batchSize, range.upperBound))
      var output: Tensor
      do {
        output = try predict(images, batchSize: batchSize)
      } catch {
        throw .engine(error)
      }
      let loss: Float
      if endsInSoftmax {
        loss = SoftmaxCrossEntropy.lossAndGradient(probabilities: output, labels: labels).loss
      } else {
        // Logits: log-sum-exp, PyTorch's CrossEntropyLoss; classes ranked
        // by their softmax, as `topClasses` ranks them.
        (loss, _, output) = SoftmaxCrossEntropy.lossAndGradient(logits: output, labels: labels)
      }
      lossSum += Double(loss) * Double(labels.count)
      for (guess, actual) in zip(output.argmaxPerSample(), labels) {
        confusion[actual][guess] += 1
        predicted.append(guess)
        if guess == actual { correct += 1 }
      }
      progress(predicted.count)
    }
    let n = Double(max(range.count, 1))
    return Evaluation(
      loss: range.isEmpty ? 0 : lossSum / n, accuracy: range.isEmpty ? 0 : Double(correct) / n,
      confusion: confusion, predicted: predicted, lossFromLogits: !endsInSoftmax)
  }
}

extension Dataset {
  /// Throws unless every image has `spec`'s input shape, the spec ends in
  /// class scores, the data has as many classes as the spec outputs (when
  /// it names them), and every label is one of them. Returns the class count.
  func check(for spec: ModelSpec) throws(TrainerError) -> Int {
    try check(input: spec.input, classCount: spec.classCount, output: spec.outputShape)
  }

  /// `check(for:)` from a model's input, class count and output shape.
  func check(
    input: FeatureShape, classCount: Int?, output: FeatureShape
  ) throws(TrainerError) -> Int {
    guard sampleShape == input.tensorShape else {
      throw .inputShapeMismatch(expected: input, found: sampleShape)
    }
    guard let classes = classCount else { throw .outputNotClasses(output) }
    if !classNames.isEmpty && classNames.count != classes {
      throw .classCountMismatch(modelOutputs: classes, dataClasses: classNames)
    }
    if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
      throw .labelOutOfRange(index: bad, label: labels[bad], classCount: classes)
    }
    return classes
  }
}

/// One class's share of an `Evaluation`: scikit-learn's per-class
/// precision, recall and F1 (`classification_report`), from the confusion
/// counts.
public struct ClassMetrics: Equatable, Sendable {
  /// Samples of the class (the confusion row's sum; "support").
  public var samples: Int
  /// Samples predicted as the class (the column's sum).
  public var predicted: Int
  /// Samples of the class predicted as it (the diagonal cell).
  public var correct: Int

  public init(samples: Int, predicted: Int, correct: Int) {
    self.samples = samples
    self.predicted = predicted
    self.correct = correct
  }

  /// correct / predicted; nil when nothing was predicted as the class.
  public var precision: Double? {
    predicted == 0 ? nil : Double(correct) / Double(predicted)
  }

  /// correct / samples, the class's accuracy; nil without samples.
  public var recall: Double? { samples == 0 ? nil : Double(correct) / Double(samples) }

  /// The harmonic mean 2PR / (P + R); 0 when both are 0, nil when either is
  /// undefined.
  public var f1: Double? {
    guard let p = precision, let r = recall else { return nil }
    return p + r == 0 ? 0 : 2 * p * r / (p + r)
  }
}

extension Evaluation {
  /// Precision, recall and F1 of every class, by class index.
  public var classMetrics: [ClassMetrics] { ClassMetrics.perClass(confusion: confusion) }
}

extension ClassMetrics {
  /// The metrics of every class of `confusion[actual][predicted]`.
  public static func perClass(confusion: [[Int]]) -> [ClassMetrics] {
    confusion.indices.map { c in
      ClassMetrics(
        samples: confusion[c].reduce(0, +), predicted: confusion.reduce(0) { $0 + $1[c] },
        correct: confusion[c][c])
    }
  }
}
