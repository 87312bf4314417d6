import Datasets
import Tensors
import XCTest

@testable import Engine
@testable import Training

final class ClassMetricsTests: XCTestCase {
  /// Worked by hand: rows are true classes, columns predictions.
  func testPrecisionRecallAndF1OfASmallConfusionMatrix() throws {
    let metrics = ClassMetrics.perClass(confusion: [[2, 1, 0], [0, 1, 0], [1, 0, 0]])
    XCTAssertEqual(metrics.map(\.samples), [3, 1, 1])
    XCTAssertEqual(metrics.map(\.predicted), [3, 2, 0])
    XCTAssertEqual(metrics.map(\.correct), [2, 1, 0])
    XCTAssertEqual(try XCTUnwrap(metrics[0].precision), 2.0 / 3, accuracy: 1e-15)
    XCTAssertEqual(try XCTUnwrap(metrics[0].f1), 2.0 / 3, accuracy: 1e-15)
    XCTAssertEqual(metrics[1].precision, 0.5)
    XCTAssertEqual(metrics[1].recall, 1)
    XCTAssertEqual(try XCTUnwrap(metrics[1].f1), 2.0 / 3, accuracy: 1e-15)
    XCTAssertNil(metrics[2].precision, "nothing predicted as the class")
    XCTAssertEqual(metrics[2].recall, 0)
    XCTAssertNil(metrics[2].f1)
    XCTAssertEqual(ClassMetrics(samples: 2, predicted: 3, correct: 0).f1, 0)
    XCTAssertNil(ClassMetrics(samples: 0, predicted: 0, correct: 0).recall)
  }

  /// The metrics of the one evaluation routine against a reference counted
  /// straight from its predictions and the labels.
  func testMetricsOfAnEvaluationMatchACountFromThePredictions() throws {
    var trainer = try Trainer(
      spec: Stripes.network, optimizer: .defaults(for: .adam),
      configuration: TrainingConfiguration(epochs: 1, batchSize: 16, seed: 3))
    try trainer.fit(Stripes.data(count: 60, seed: 1))
    let data = Stripes.data(count: 90, seed: 2)
    let evaluation = try trainer.evaluate(data, batchSize: 7)
    for (c, metrics) in evaluation.classMetrics.enumerated() {
      let pairs = zip(evaluation.predicted, data.labels)
      let predicted = pairs.filter { $0.0 == c }.count
      let actual = pairs.filter { $0.1 == c }.count
      let hits = pairs.filter { $0.0 == c && $0.1 == c }.count
      XCTAssertEqual(metrics.samples, actual)
      XCTAssertEqual(metrics.predicted, predicted)
      XCTAssertEqual(metrics.correct, hits)
      XCTAssertEqual(metrics.precision, predicted == 0 ? nil : Double(hits) / Double(predicted))
      XCTAssertEqual(metrics.recall, actual == 0 ? nil : Double(hits) / Double(actual))
    }
  }

  /// `scores` gives the logits under the final softmax and exactly the
  /// probabilities that `topClasses` ranks.
  func testScoresAreTheLogitsAndTheRankedProbabilities() throws {
    var trainer = try Trainer(
      spec: Stripes.network, optimizer: .defaults(for: .adam),
      configuration: TrainingConfiguration(epochs: 1, batchSize: 16, seed: 3))
    try trainer.fit(Stripes.data(count: 60, seed: 1))
    var model = trainer.model
    let images = Stripes.data(count: 9, seed: 4).images
    let result = try model.scores(images, batchSize: 4)
    XCTAssertTrue(result.scoresAreLogits)
    let top = try model.topClasses(images, k: 3)
    for n in 0..<9 {
      let logits = Array(result.scores.storage[(n * 3)..<(n * 3 + 3)])
      let probabilities = Array(result.probabilities.storage[(n * 3)..<(n * 3 + 3)])
      for candidate in top[n] {
        XCTAssertEqual(probabilities[candidate.classIndex], candidate.probability)
      }
      let exps = logits.map { exp(Double($0) - Double(logits.max()!)) }
      for c in 0..<3 {
        XCTAssertEqual(Double(probabilities[c]), exps[c] / exps.reduce(0, +), accuracy: 1e-6)
      }
    }
  }
}
