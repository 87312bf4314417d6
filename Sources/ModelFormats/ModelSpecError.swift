/// Why a model spec was refused. Every case names the 1-based line and,
/// where there is one, the offending token.
public enum ModelSpecError: Error, Hashable, CustomStringConvertible {
  /// The text has no layers at all.
  case empty
  /// The first line is not `input H W C`, or `input` appears again later.
  case misplacedInput(line: Int)
  case invalidInput(line: Int, reason: String)
  case unknownLayer(line: Int, token: String)
  case unknownParameter(line: Int, layer: String, token: String)
  case duplicateParameter(line: Int, layer: String, parameter: String)
  case tooManyArguments(line: Int, layer: String, token: String)
  case missingParameter(line: Int, layer: String, parameter: String)
  case invalidValue(line: Int, parameter: String, token: String, expected: String)
  /// The layer cannot take the shape the previous layer produces.
  case incompatibleShape(line: Int, layer: String, input: FeatureShape, reason: String)
  /// Sizes beyond what convviz will allocate.
  case tooLarge(line: Int, reason: String)

  public var line: Int? {
    switch self {
    case .empty: return nil
    case .misplacedInput(let line), .invalidInput(let line, _), .unknownLayer(let line, _),
      .unknownParameter(let line, _, _), .duplicateParameter(let line, _, _),
      .tooManyArguments(let line, _, _), .missingParameter(let line, _, _),
      .invalidValue(let line, _, _, _), .incompatibleShape(let line, _, _, _),
      .tooLarge(let line, _):
      return line
    }
  }

  public var description: String {
    switch self {
    case .empty:
      return "model spec is empty; the first line must be `input HEIGHT WIDTH CHANNELS`"
    case .misplacedInput(let line) where line == 1:
      return "line 1: a model spec starts with `input HEIGHT WIDTH CHANNELS`"
    case .misplacedInput(let line):
      return "line \(line): `input` may only appear once, on the first line"
    case .invalidInput(let line, let reason):
      return "line \(line): \(reason)"
    case .unknownLayer(let line, let token):
      let known = ModelSpec.layerKeywords.joined(separator: ", ")
      return "line \(line): unknown layer '\(token)'; expected one of \(known)"
    case .unknownParameter(let line, let layer, let token):
      return "line \(line): \(layer) has no parameter '\(token)'"
    case .duplicateParameter(let line, let layer, let parameter):
      return "line \(line): \(layer) parameter '\(parameter)' is given twice"
    case .tooManyArguments(let line, let layer, let token):
      return "line \(line): unexpected '\(token)'; \(layer) takes no more positional values"
    case .missingParameter(let line, let layer, let parameter):
      return "line \(line): \(layer) needs '\(parameter)'"
    case .invalidValue(let line, let parameter, let token, let expected):
      return "line \(line): '\(token)' is not a valid \(parameter); expected \(expected)"
    case .incompatibleShape(let line, let layer, let input, let reason):
      return "line \(line): \(layer) cannot take input \(input): \(reason)"
    case .tooLarge(let line, let reason):
      return "line \(line): model too large: \(reason)"
    }
  }
}
