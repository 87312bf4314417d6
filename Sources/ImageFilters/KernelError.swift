/// Why a kernel text, kernel file or built-in kernel parameter was refused.
///
/// Rows and columns are 1-based and count kernel rows (comment and blank lines
/// are not rows), so `row 2, column 3` is the third value of the second row.
public enum KernelError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The text holds no values at all (only blanks, separators or comments).
  case empty
  /// A token is not a number (`1/9` style fractions are accepted).
  case notANumber(token: String, row: Int, column: Int)
  /// A token parses but is NaN or infinite (`nan`, `inf`, `1e40`, `1/0`).
  case nonFinite(token: String, row: Int, column: Int)
  /// Two commas with nothing between them, or a row that starts or ends with one.
  case missingValue(row: Int, column: Int)
  /// A row has a different number of values than the first row.
  case raggedRow(row: Int, expected: Int, found: Int)
  /// A built-in kernel's parameter is out of range (`sigma`, `size`).
  case invalidParameter(kernel: String, name: String, value: String, reason: String)
  /// The kernel file could not be read.
  case unreadableFile(path: String, reason: String)
  /// A parse error inside a kernel file.
  indirect case inFile(path: String, error: KernelError)

  public var description: String {
    switch self {
    case .empty:
      return "kernel has no values; hint: write rows like '1,0,-1;2,0,-2;1,0,-1'"
    case .notANumber(let token, let row, let column):
      return "kernel row \(row), column \(column): '\(token)' is not a number"
    case .nonFinite(let token, let row, let column):
      return "kernel row \(row), column \(column): '\(token)' is not a finite number"
    case .missingValue(let row, let column):
      return "kernel row \(row), column \(column): value missing between separators"
    case .raggedRow(let row, let expected, let found):
      return "kernel row \(row) has \(found) values, expected \(expected) like the first row"
    case .invalidParameter(let kernel, let name, let value, let reason):
      return "kernel \(kernel): \(name) \(value) is invalid; \(reason)"
    case .unreadableFile(let path, let reason):
      return "\(path): cannot read kernel file (\(reason))"
    case .inFile(let path, let error):
      return "\(path): \(error.description)"
    }
  }
}
