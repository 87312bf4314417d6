import Datasets
import Foundation
import ImageCodecs
import ModelFormats
import Tensors
import Training
import XCTest

@testable import convviz

/// `evaluate` and `predict` with `--format json|csv`: the documents parse,
/// and their numbers are those of the library routines, bit for bit.
final class ResultFormatCommandTests: XCTestCase {
  /// A small model trained on the three-colour folder, and that folder.
  private func trainedModel(_ folder: TrainingScratchFolder) throws -> (String, String) {
    let data = folder.path + "/three"
    try ClassesAndSizesCommandTests.writeFolder(data, perClass: 5)
    let spec = try folder.write(
      Array("input 8 8 3\nconv2d 2 3 relu\nflatten\ndense 3 softmax\n".utf8), to: "s.txt")
    let model = folder.path + "/m.bin"
    let result = try TrainingCLI.run([
      "train", "--model", spec, "--data", data, "--epochs", "2", "--batch-size", "4", "-o",
      model,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    return (model, data)
  }

  /// The library's evaluation of `model` on `data`, as `evaluate` runs it.
  private func reference(model: String, data: String) throws -> Evaluation {
    let file = try ModelFile.read(from: model)
    let command = try Evaluate.parse([model, "--data", data])
    let splits = try command.data.load(
      for: file.spec, resize: file.metadata.resize, seed: file.metadata.seed,
      labels: command.labels)
    var network = file.makeModel()
    return try network.evaluation(on: splits.train, spec: file.spec)
  }

  /// The numbers compared bit for bit, read with JSONDecoder: on Linux,
  /// JSONSerialization's number parsing is not correctly rounded (it reads
  /// 0.9285296201705933 as 0.9285296201705936); JSONDecoder's is.
  private struct EvaluationNumbers: Decodable {
    struct Class: Decodable {
      var precision, recall, f1: Double?
    }
    var loss, accuracy: Double
    var classes: [Class]
  }

  func testEvaluateJSONHoldsTheEvaluationRoutinesNumbers() throws {
    let folder = try TrainingScratchFolder()
    let (model, data) = try trainedModel(folder)
    let result = try TrainingCLI.run([
      "evaluate", model, "--data", data, "--format", "json", "-o", folder.path + "/c.png",
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stderr.contains("wrote"), "run notes go to stderr: \(result.stderr)")
    let json = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let expected = try reference(model: model, data: data)
    let numbers = try JSONDecoder().decode(EvaluationNumbers.self, from: Data(result.stdout.utf8))
    XCTAssertEqual(numbers.loss, expected.loss)
    XCTAssertEqual(numbers.accuracy, expected.accuracy)
    XCTAssertEqual(json["samples"] as? Int, 15)
    XCTAssertEqual(json["split"] as? String, "all")
    XCTAssertEqual(json["confusion"] as? [[Int]], expected.confusion)
    let classes = try XCTUnwrap(json["classes"] as? [[String: Any]])
    XCTAssertEqual(classes.map { $0["name"] as? String }, ClassesAndSizesCommandTests.classes)
    XCTAssertEqual(numbers.classes.count, expected.classMetrics.count)
    for ((entry, metrics), decoded) in zip(zip(classes, expected.classMetrics), numbers.classes) {
      XCTAssertEqual(entry["samples"] as? Int, metrics.samples)
      XCTAssertEqual(entry["predicted"] as? Int, metrics.predicted)
      XCTAssertEqual(entry["correct"] as? Int, metrics.correct)
      for (key, value, read) in [
        ("precision", metrics.precision, decoded.precision),
        ("recall", metrics.recall, decoded.recall), ("f1", metrics.f1, decoded.f1),
      ] {
        if let value {
          XCTAssertEqual(read, value, key)
        } else {
          XCTAssertTrue(entry[key] is NSNull, "\(key) undefined is null")
        }
      }
    }
  }

  func testEvaluateCSVHoldsTheEvaluationRoutinesNumbers() throws {
    let folder = try TrainingScratchFolder()
    let (model, data) = try trainedModel(folder)
    let result = try TrainingCLI.run([
      "evaluate", model, "--data", data, "--format", "csv", "-o", folder.path + "/c.png",
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let rows = result.stdout.split(separator: "\n").map {
      $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
    XCTAssertEqual(rows[0], ["metric", "class", "predicted", "value"])
    XCTAssertTrue(rows.allSatisfy { $0.count == 4 })
    func value(_ metric: String, _ name: String = "", _ predicted: String = "") -> String? {
      rows.first { $0[0] == metric && $0[1] == name && $0[2] == predicted }?[3]
    }
    let expected = try reference(model: model, data: data)
    XCTAssertEqual(value("loss").flatMap(Double.init), expected.loss)
    XCTAssertEqual(value("accuracy").flatMap(Double.init), expected.accuracy)
    let names = ClassesAndSizesCommandTests.classes
    for (c, metrics) in expected.classMetrics.enumerated() {
      XCTAssertEqual(value("samples", names[c]), "\(metrics.samples)")
      XCTAssertEqual(value("precision", names[c]), metrics.precision.map { "\($0)" } ?? "")
      XCTAssertEqual(value("recall", names[c]), metrics.recall.map { "\($0)" } ?? "")
      XCTAssertEqual(value("f1", names[c]), metrics.f1.map { "\($0)" } ?? "")
      for p in 0..<3 {
        XCTAssertEqual(value("count", names[c], names[p]), "\(expected.confusion[c][p])")
      }
    }
  }

  func testPredictJSONAndCSVRoundTripScoresAndProbabilities() throws {
    let folder = try TrainingScratchFolder()
    let (model, data) = try trainedModel(folder)
    let images = [data + "/cat/0.png", data + "/ship/1.png"]
    let file = try ModelFile.read(from: model)
    var network = file.makeModel()
    let input = Tensor.concatenatingSamples(
      try images.map {
        try Predict.modelInput(
          try ImageFile.read($0), path: $0, channels: 3, height: 8, width: 8, resize: .fill)
      })
    let expected = try network.scores(input)
    XCTAssertTrue(expected.scoresAreLogits)

    let json = try TrainingCLI.run(["predict", model] + images + ["--format", "json"])
    XCTAssertEqual(json.status, 0, json.stderr)
    let document = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(document["scores"] as? String, "logits")
    let entries = try XCTUnwrap(document["images"] as? [[String: Any]])
    XCTAssertEqual(entries.map { $0["image"] as? String }, images)
    // Numbers are read back as a program would, and must be the same Float bits.
    for (n, entry) in entries.enumerated() {
      let scores = try XCTUnwrap(entry["scores"] as? [NSNumber]).map { Float($0.description)! }
      let probabilities = try XCTUnwrap(entry["probabilities"] as? [NSNumber]).map {
        Float($0.description)!
      }
      XCTAssertEqual(scores, Array(expected.scores.storage[(n * 3)..<(n * 3 + 3)]))
      XCTAssertEqual(probabilities, Array(expected.probabilities.storage[(n * 3)..<(n * 3 + 3)]))
      let top = try XCTUnwrap(entry["top"] as? [[String: Any]])
      XCTAssertEqual(top.count, 3)
    }

    let csv = try TrainingCLI.run(["predict", model] + images + ["--format", "csv"])
    XCTAssertEqual(csv.status, 0, csv.stderr)
    let rows = csv.stdout.split(separator: "\n").map {
      $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
    XCTAssertEqual(
      rows[0],
      [
        "image", "class", "name", "probability", "score_0", "score_1", "score_2", "probability_0",
        "probability_1", "probability_2",
      ])
    for n in 0..<2 {
      let row = rows[n + 1]
      XCTAssertEqual(row[0], images[n])
      XCTAssertEqual(
        row[4..<7].map { Float($0)! }, Array(expected.scores.storage[(n * 3)..<(n * 3 + 3)]))
      XCTAssertEqual(
        row[7..<10].map { Float($0)! }, Array(expected.probabilities.storage[(n * 3)..<(n * 3 + 3)])
      )
      let best = ClassProbability.ranked(
        Array(expected.probabilities.storage[(n * 3)..<(n * 3 + 3)]), k: 1,
        classNames: ClassesAndSizesCommandTests.classes)[0]
      XCTAssertEqual(row[1], "\(best.classIndex)")
      XCTAssertEqual(row[2], best.label)
    }
  }
}
