import ArgumentParser
import Foundation

/// How `evaluate` and `predict` print their results on stdout: `--format`.
/// With `json` or `csv`, stdout holds that document alone; the lines that
/// describe the run go to stderr.
enum ResultFormat: String, ExpressibleByArgument, CaseIterable {
  case text, json, csv
}

/// A JSON value, written with numbers in their shortest round-trip form
/// (Swift's `description`: `Float("\(x)") == x`), so every printed float
/// reads back bit for bit. Non-finite numbers, which JSON lacks, are null.
indirect enum JSONValue {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case float(Float)
  case string(String)
  case array([JSONValue])
  /// Keys in the order given.
  case object([(String, JSONValue)])

  /// nil as null.
  static func double(_ value: Double?) -> JSONValue { value.map { .double($0) } ?? .null }

  /// The document: objects one member a line, indented by two spaces;
  /// arrays of scalars on one line.
  func rendered(indent: String = "") -> String {
    switch self {
    case .null: return "null"
    case .bool(let value): return value ? "true" : "false"
    case .int(let value): return "\(value)"
    case .double(let value): return value.isFinite ? "\(value)" : "null"
    case .float(let value): return value.isFinite ? "\(value)" : "null"
    case .string(let value): return Self.quoted(value)
    case .array(let values):
      if values.allSatisfy(\.isScalar) {
        return "[" + values.map { $0.rendered() }.joined(separator: ", ") + "]"
      }
      let inner = indent + "  "
      return "[\n" + values.map { inner + $0.rendered(indent: inner) }.joined(separator: ",\n")
        + "\n" + indent + "]"
    case .object(let members):
      guard !members.isEmpty else { return "{}" }
      let inner = indent + "  "
      return "{\n"
        + members.map { inner + Self.quoted($0.0) + ": " + $0.1.rendered(indent: inner) }
        .joined(separator: ",\n") + "\n" + indent + "}"
    }
  }

  private var isScalar: Bool {
    switch self {
    case .array, .object: return false
    default: return true
    }
  }

  /// A JSON string literal (RFC 8259): quote, backslash and control
  /// characters escaped.
  static func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          out +=
            "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
            + String(scalar.value, radix: 16)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}

/// CSV as RFC 4180 writes it: fields with a comma, quote or line break are
/// quoted, quotes doubled; numbers in their shortest round-trip form;
/// missing values empty.
enum CSVText {
  static func field(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  static func number(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "" }
    return "\(value)"
  }

  static func number(_ value: Float) -> String { value.isFinite ? "\(value)" : "" }

  /// Rows joined with line feeds, one trailing.
  static func document(_ rows: [[String]]) -> String {
    rows.map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
  }
}
