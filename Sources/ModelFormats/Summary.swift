/// A Keras-style model summary: one row per layer with its output shape and
/// parameter count (with the formula), then the totals.
public struct ModelSummary: Sendable {
  public struct Row: Sendable, Equatable {
    /// Keras name and class, e.g. `conv2d_1` and `Conv2D`.
    public var name: String
    public var type: String
    public var outputShape: FeatureShape
    public var parameterCount: Int
    /// e.g. `3×3×1×32+32 = 320`; empty for layers without parameters.
    public var formula: String
  }

  public var rows: [Row]
  public var trainableCount: Int
  /// Always 0: convviz has no frozen weights or batch-norm statistics.
  public var nonTrainableCount: Int { 0 }
  public var totalCount: Int { trainableCount + nonTrainableCount }

  public init(_ spec: ModelSpec) {
    let inputs = spec.inputShapes
    rows = spec.layers.indices.map { i in
      let layer = spec.layers[i]
      let params = layer.parameterFormula(input: inputs[i])
      return Row(
        name: spec.layerNames[i], type: layer.kerasType, outputShape: spec.outputShapes[i],
        parameterCount: params?.count ?? 0, formula: params?.formula ?? "")
    }
    trainableCount = rows.reduce(0) { $0 + $1.parameterCount }
  }

  /// The table as text, Keras's layout plus a formula column:
  ///
  ///     Layer (type)              Output Shape          Param #  Formula
  ///     conv2d (Conv2D)           (None, 26, 26, 32)        320  3×3×1×32+32 = 320
  public func render(title: String = "sequential") -> String {
    let header = ["Layer (type)", "Output Shape", "Param #", "Formula"]
    let cells = rows.map { row in
      [
        "\(row.name) (\(row.type))", row.outputShape.description,
        groupedDigits(row.parameterCount), row.formula,
      ]
    }
    var widths = header.map(\.count)
    for line in cells {
      for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) }
    }
    func format(_ line: [String]) -> String {
      let name = line[0].padding(widths[0])
      let shape = line[1].padding(widths[1])
      let count = String(repeating: " ", count: widths[2] - line[2].count) + line[2]
      let text = name + "  " + shape + "  " + count + "  " + line[3]
      return String(text.reversed().drop(while: { $0 == " " }).reversed())
    }
    let rule = String(repeating: "─", count: widths.reduce(6, +))
    var out = ["Model: \"\(title)\"", rule, format(header), rule]
    out += cells.map(format)
    out += [
      rule,
      "Total params: \(groupedDigits(totalCount))",
      "Trainable params: \(groupedDigits(trainableCount))",
      "Non-trainable params: \(groupedDigits(nonTrainableCount))",
    ]
    return out.joined(separator: "\n") + "\n"
  }
}

extension String {
  fileprivate func padding(_ width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
}
