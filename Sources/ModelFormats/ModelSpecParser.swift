/// The text format of docs/model-spec.md: one layer per line, a keyword
/// followed by positional values and/or `key=value` pairs; `#` starts a
/// comment.
extension ModelSpec {
  /// Layer keywords with the parameters their positional values fill, in order.
  static let layerSignatures: [(keyword: String, parameters: [String])] = [
    ("input", ["height", "width", "channels"]),
    ("conv2d", ["filters", "kernel", "activation", "strides", "padding"]),
    ("dense", ["units", "activation"]),
    ("maxpool2d", ["pool", "strides"]),
    ("avgpool2d", ["pool", "strides"]),
    ("l2pool2d", ["pool", "strides"]),
    ("dropout", ["rate"]),
    ("flatten", []),
    ("activation", ["activation"]),
  ]

  /// Accepted spellings that mean the same keyword or parameter (Keras's).
  static let keywordAliases = [
    "max_pooling2d": "maxpool2d", "maxpooling2d": "maxpool2d",
    "average_pooling2d": "avgpool2d", "averagepooling2d": "avgpool2d",
    "l2_pooling2d": "l2pool2d",
  ]
  static let parameterAliases = ["kernel_size": "kernel", "pool_size": "pool"]

  static var layerKeywords: [String] { layerSignatures.map(\.keyword) }

  /// Parses a spec. Blank lines and `#` comments are ignored; errors name
  /// the line and the token.
  public static func parse(_ text: String) throws(ModelSpecError) -> ModelSpec {
    try parse(text, input: nil)
  }

  /// Parses a spec whose input is `given` (then the text has no `input`
  /// line), or read from its first line when nil.
  static func parse(_ text: String, input given: FeatureShape?) throws(ModelSpecError) -> ModelSpec
  {
    var input = given
    var layers: [LayerSpec] = []
    var lines: [Int] = []
    let rawLines = text.split(separator: "\n", omittingEmptySubsequences: false)
    for (index, rawLine) in rawLines.enumerated() {
      let lineNumber = index + 1
      let content = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
      let tokens = (content.first ?? "").split(whereSeparator: {
        $0 == " " || $0 == "\t" || $0 == "\r"
      })
      .map(String.init)
      guard let first = tokens.first else { continue }
      let keyword = keywordAliases[first.lowercased()] ?? first.lowercased()
      guard let signature = layerSignatures.first(where: { $0.keyword == keyword }) else {
        throw .unknownLayer(line: lineNumber, token: first)
      }
      let values = try arguments(
        Array(tokens.dropFirst()), signature: signature, line: lineNumber)
      var reader = ValueReader(layer: keyword, values: values, line: lineNumber)
      if keyword == "input" {
        guard given == nil, input == nil, layers.isEmpty else {
          throw .misplacedInput(line: lineNumber)
        }
        let limit = 1 << 16
        input = .image(
          height: try reader.int("height", in: 1...limit),
          width: try reader.int("width", in: 1...limit),
          channels: try reader.int("channels", in: 1...limit))
        continue
      }
      guard input != nil else { throw .misplacedInput(line: 1) }
      layers.append(try layer(keyword, reader: &reader))
      lines.append(lineNumber)
    }
    guard let input, given == nil || !layers.isEmpty else { throw .empty }
    return try ModelSpec(input: input, layers: layers, lines: lines, flatInput: given != nil)
  }

  /// Assigns positional values to the signature's parameters in order and
  /// `key=value` pairs by name.
  private static func arguments(
    _ tokens: [String], signature: (keyword: String, parameters: [String]), line: Int
  ) throws(ModelSpecError) -> [String: String] {
    var values: [String: String] = [:]
    var nextPositional = 0
    for token in tokens {
      let name: String
      let value: String
      if let equals = token.firstIndex(of: "=") {
        let key = token[..<equals].lowercased()
        name = parameterAliases[key] ?? key
        value = String(token[token.index(after: equals)...])
        guard signature.parameters.contains(name) else {
          throw .unknownParameter(line: line, layer: signature.keyword, token: String(key))
        }
      } else {
        while nextPositional < signature.parameters.count,
          values[signature.parameters[nextPositional]] != nil
        {
          nextPositional += 1
        }
        guard nextPositional < signature.parameters.count else {
          throw .tooManyArguments(line: line, layer: signature.keyword, token: token)
        }
        name = signature.parameters[nextPositional]
        value = token
      }
      guard values[name] == nil else {
        throw .duplicateParameter(line: line, layer: signature.keyword, parameter: name)
      }
      values[name] = value
    }
    return values
  }

  private static func layer(
    _ keyword: String, reader: inout ValueReader
  ) throws(ModelSpecError) -> LayerSpec {
    let sizeLimit = 1 << 12
    switch keyword {
    case "conv2d":
      let kernel = try reader.size("kernel", in: 1...sizeLimit)
      return .conv2d(
        filters: try reader.int("filters", in: 1...(1 << 16)),
        kernel: kernel,
        strides: try reader.size("strides", in: 1...sizeLimit, default: Size2(square: 1)),
        padding: try reader.padding("padding"),
        activation: try reader.choice("activation", default: .linear))
    case "dense":
      return .dense(
        units: try reader.int("units", in: 1...(1 << 24)),
        activation: try reader.choice("activation", default: .linear))
    case "maxpool2d", "avgpool2d", "l2pool2d":
      let kind: LayerSpec.Pooling =
        keyword == "maxpool2d" ? .max : keyword == "avgpool2d" ? .average : .l2
      let pool = try reader.size("pool", in: 1...sizeLimit)
      let strides = try reader.size("strides", in: 1...sizeLimit, default: pool)
      return .pooling2d(kind, pool: pool, strides: strides)
    case "dropout":
      return .dropout(rate: try reader.rate("rate"))
    case "flatten":
      return .flatten
    default:
      let activation: LayerSpec.Activation = try reader.choice("activation", default: nil)
      return .activation(activation)
    }
  }
}

/// Converts a line's raw parameter values to typed ones, naming the line,
/// parameter and token on failure.
private struct ValueReader {
  let layer: String
  let values: [String: String]
  let line: Int

  func int(_ name: String, in range: ClosedRange<Int>) throws(ModelSpecError) -> Int {
    guard let token = values[name] else {
      throw .missingParameter(line: line, layer: layer, parameter: name)
    }
    guard let value = Int(token), range.contains(value) else {
      throw .invalidValue(
        line: line, parameter: name, token: token,
        expected: "an integer from \(range.lowerBound) to \(range.upperBound)")
    }
    return value
  }

  /// `3` (square) or `3x5` (height x width).
  func size(
    _ name: String, in range: ClosedRange<Int>, default fallback: Size2? = nil
  ) throws(ModelSpecError) -> Size2 {
    guard let token = values[name] else {
      if let fallback { return fallback }
      throw .missingParameter(line: line, layer: layer, parameter: name)
    }
    let parts = token.lowercased().split(separator: "x", omittingEmptySubsequences: false)
    let numbers = parts.compactMap { Int($0) }.filter { range.contains($0) }
    guard parts.count == numbers.count, numbers.count == 1 || numbers.count == 2 else {
      throw .invalidValue(
        line: line, parameter: name, token: token,
        expected: "N or HxW with each from \(range.lowerBound) to \(range.upperBound)")
    }
    return Size2(numbers[0], numbers.count == 2 ? numbers[1] : numbers[0])
  }

  func rate(_ name: String) throws(ModelSpecError) -> Float {
    guard let token = values[name] else {
      throw .missingParameter(line: line, layer: layer, parameter: name)
    }
    guard let value = Float(token), value >= 0, value < 1 else {
      throw .invalidValue(
        line: line, parameter: name, token: token, expected: "a number in [0, 1)")
    }
    return value
  }

  /// `valid` (the default) or `same`.
  func padding(_ name: String) throws(ModelSpecError) -> LayerSpec.Padding {
    guard let token = values[name] else { return .valid }
    switch token.lowercased() {
    case "valid": return .valid
    case "same": return .same
    default:
      throw .invalidValue(line: line, parameter: name, token: token, expected: "one of valid, same")
    }
  }

  func choice<T: RawRepresentable & CaseIterable>(
    _ name: String, default fallback: T?
  ) throws(ModelSpecError) -> T where T.RawValue == String {
    guard let token = values[name] else {
      if let fallback { return fallback }
      throw .missingParameter(line: line, layer: layer, parameter: name)
    }
    guard let value = T(rawValue: token.lowercased()) else {
      let options = T.allCases.map(\.rawValue).joined(separator: ", ")
      throw .invalidValue(line: line, parameter: name, token: token, expected: "one of \(options)")
    }
    return value
  }
}
