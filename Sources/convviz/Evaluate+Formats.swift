import Training

extension Evaluate {
  /// The evaluation as one JSON object (docs/results.md): overall loss and
  /// accuracy, one entry per model class with its counts, precision, recall
  /// and F1 (null where undefined), and the confusion counts.
  static func json(
    _ result: Evaluation, classNames: [String], absent: Set<Int>, model: String, data: String,
    split: String, skipped: ClassMatch
  ) -> JSONValue {
    let classes: [JSONValue] = result.classMetrics.enumerated().map { c, metrics in
      .object([
        ("index", .int(c)), ("name", .string(c < classNames.count ? classNames[c] : "\(c)")),
        ("in_data", .bool(!absent.contains(c))), ("samples", .int(metrics.samples)),
        ("predicted", .int(metrics.predicted)), ("correct", .int(metrics.correct)),
        ("precision", .double(metrics.precision)), ("recall", .double(metrics.recall)),
        ("f1", .double(metrics.f1)),
      ])
    }
    return .object([
      ("model", .string(model)), ("data", .string(data)), ("split", .string(split)),
      ("samples", .int(result.count)), ("loss", .double(result.loss)),
      ("accuracy", .double(result.accuracy)), ("classes", .array(classes)),
      ("confusion", .array(result.confusion.map { .array($0.map { .int($0) }) })),
      (
        "skipped",
        .object([
          ("samples", .int(skipped.skippedSamples)),
          ("classes", .array(skipped.skippedClasses.map { .string($0.name) })),
        ])
      ),
    ])
  }

  /// The evaluation as a tidy CSV table, `metric,class,predicted,value`:
  /// `loss` and `accuracy` (no class), then per class `samples`,
  /// `predicted`, `correct`, `precision`, `recall`, `f1` (empty where
  /// undefined or the class is not in the data), then one `count` row per
  /// confusion cell (class: true, predicted: predicted).
  static func csv(_ result: Evaluation, classNames: [String], absent: Set<Int>) -> String {
    var rows = [["metric", "class", "predicted", "value"]]
    rows.append(["samples", "", "", "\(result.count)"])
    rows.append(["loss", "", "", CSVText.number(result.loss)])
    rows.append(["accuracy", "", "", CSVText.number(result.accuracy)])
    let names = result.confusion.indices.map {
      CSVText.field($0 < classNames.count ? classNames[$0] : "\($0)")
    }
    for (c, metrics) in result.classMetrics.enumerated() {
      let recall = absent.contains(c) ? nil : metrics.recall
      rows += [
        ["samples", names[c], "", "\(metrics.samples)"],
        ["predicted", names[c], "", "\(metrics.predicted)"],
        ["correct", names[c], "", "\(metrics.correct)"],
        ["precision", names[c], "", CSVText.number(metrics.precision)],
        ["recall", names[c], "", CSVText.number(recall)],
        ["f1", names[c], "", CSVText.number(absent.contains(c) ? nil : metrics.f1)],
      ]
    }
    for (actual, row) in result.confusion.enumerated() {
      for (predicted, count) in row.enumerated() {
        rows.append(["count", names[actual], names[predicted], "\(count)"])
      }
    }
    return CSVText.document(rows)
  }
}
