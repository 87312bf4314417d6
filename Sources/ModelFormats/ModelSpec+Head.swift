/// Transfer learning's pieces of a spec: the rows a backbone keeps, and a
/// classifier head that reads its features (`convviz train --from`).
extension ModelSpec {
  /// A head: the layers of `text` (spec syntax without the `input` line;
  /// `;` also ends a line) reading features shaped `input`, which may be
  /// flat. Errors name the line as in a spec file.
  public static func head(
    parsing text: String, input: FeatureShape
  ) throws(ModelSpecError)
    -> ModelSpec
  {
    try parse(text.replacingOccurrences(of: ";", with: "\n"), input: input)
  }

  /// The default head for `classes` classes on features shaped `input`:
  /// `flatten` (for image features) then `dense CLASSES softmax`, Keras's
  /// usual classifier on top of a convolutional base.
  public static func defaultHead(
    input: FeatureShape, classes: Int
  ) throws(ModelSpecError)
    -> ModelSpec
  {
    var layers: [LayerSpec] = []
    if case .image = input { layers.append(.flatten) }
    layers.append(.dense(units: classes, activation: .softmax))
    return try ModelSpec(
      input: input, layers: layers, lines: layers.indices.map { $0 + 1 }, flatInput: true)
  }

  /// The spec's rows `0...row`: a backbone ending at that row.
  public func keepingRows(through row: Int) -> ModelSpec {
    precondition(row >= 0 && row < layers.count, "row \(row) out of 0..<\(layers.count)")
    do {
      return try ModelSpec(input: input, layers: Array(layers[...row]))
    } catch {
      preconditionFailure("a prefix of a checked spec is checked: \(error)")
    }
  }

  /// This spec followed by `head`'s layers, which must read this spec's
  /// output shape: the network transfer learning trains and saves. The
  /// head's layers take the next free Keras names (`dense_2`, …). Throws
  /// only when the whole is too large.
  public func appending(_ head: ModelSpec) throws(ModelSpecError) -> ModelSpec {
    precondition(head.input == outputShape, "the head reads \(head.input), not \(outputShape)")
    return try ModelSpec(input: input, layers: layers + head.layers)
  }
}
