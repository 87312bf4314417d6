import Tensors
import Training

extension Predict {
  /// Row `n` of a (N, classes) tensor.
  private static func row(_ tensor: Tensor, _ n: Int) -> [Float] {
    let classes = tensor.shape[1]
    return Array(tensor.storage[(n * classes)..<((n + 1) * classes)])
  }

  /// Every image's top `k` classes, scores and probabilities as one JSON
  /// object (docs/results.md).
  static func json(
    _ result: ImageScores, images: [String], classNames: [String], k: Int, model: String
  ) -> JSONValue {
    let entries: [JSONValue] = images.enumerated().map { n, path in
      let probabilities = row(result.probabilities, n)
      let ranked = ClassProbability.ranked(probabilities, k: k, classNames: classNames)
      return .object([
        ("image", .string(path)),
        (
          "top",
          .array(
            ranked.map {
              .object([
                ("class", .int($0.classIndex)), ("name", $0.label.map { .string($0) } ?? .null),
                ("probability", .float($0.probability)),
              ])
            })
        ),
        ("scores", .array(row(result.scores, n).map { .float($0) })),
        ("probabilities", .array(probabilities.map { .float($0) })),
      ])
    }
    return .object([
      ("model", .string(model)), ("classes", .array(classNames.map { .string($0) })),
      ("scores", .string(result.scoresAreLogits ? "logits" : "outputs")),
      ("images", .array(entries)),
    ])
  }

  /// One CSV row per image: `image,class,name,probability` for the top
  /// class, then `score_0…` and `probability_0…` for every class.
  static func csv(_ result: ImageScores, images: [String], classNames: [String]) -> String {
    let classes = result.probabilities.shape[1]
    var rows = [
      ["image", "class", "name", "probability"] + (0..<classes).map { "score_\($0)" }
        + (0..<classes).map { "probability_\($0)" }
    ]
    for (n, path) in images.enumerated() {
      let probabilities = row(result.probabilities, n)
      let best = ClassProbability.ranked(probabilities, k: 1, classNames: classNames)[0]
      rows.append(
        [
          CSVText.field(path), "\(best.classIndex)", CSVText.field(best.label ?? ""),
          CSVText.number(best.probability),
        ] + row(result.scores, n).map(CSVText.number) + probabilities.map(CSVText.number))
    }
    return CSVText.document(rows)
  }
}
