import Files

extension Kernel {
  /// Parses a kernel written as text, e.g. `1,0,-1;2,0,-2;1,0,-1`.
  ///
  /// Rows are separated by `;` or newlines; values by `,` or whitespace (mixing
  /// is fine: `1, 2, 3`). `#` starts a comment that runs to the end of the line.
  /// Blank rows are skipped. A value is a decimal or exponent number or a
  /// fraction `a/b` (`1/9`). Errors name the 1-based kernel row and column.
  public static func parse(_ text: String) throws(KernelError) -> Kernel {
    var rows: [[Float]] = []
    // "\r\n" is one Character in Swift, so split on isNewline, not on "\n".
    let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    for line in lines {
      let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
      for rowText in code.split(separator: ";", omittingEmptySubsequences: false) {
        let row = try parseRow(rowText, rowNumber: rows.count + 1)
        if row.isEmpty { continue }
        if let first = rows.first, first.count != row.count {
          throw .raggedRow(row: rows.count + 1, expected: first.count, found: row.count)
        }
        rows.append(row)
      }
    }
    guard !rows.isEmpty else { throw .empty }
    return Kernel(rows)
  }

  /// Reads and parses a kernel file (same syntax as `parse`, usually one row a
  /// line with `#` comments). Parse errors come wrapped in `.inFile`. Only a
  /// regular file of at most `maximumFileSize` bytes is read (a device such as
  /// /dev/zero would never end).
  public static func load(contentsOfFile path: String) throws(KernelError) -> Kernel {
    let bytes: [UInt8]
    do {
      bytes = try FileContents.read(path, maximumBytes: maximumFileSize)
    } catch .notRegularFile(_, let kind) {
      throw .unreadableFile(path: path, reason: "is \(kind)")
    } catch {
      throw .unreadableFile(path: path, reason: error.problem)
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw .unreadableFile(path: path, reason: "not readable UTF-8 text")
    }
    do {
      return try parse(text)
    } catch {
      throw .inFile(path: path, error: error)
    }
  }

  /// The largest kernel file read: 16 MiB, a matrix of about a million values.
  public static let maximumFileSize = 16 << 20

  /// Splits one row into values. Returns [] for a blank row.
  private static func parseRow(_ text: Substring, rowNumber: Int) throws(KernelError) -> [Float] {
    let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    if text.allSatisfy(isBlank) { return [] }
    var values: [Float] = []
    for piece in text.split(separator: ",", omittingEmptySubsequences: false) {
      let tokens = piece.split(whereSeparator: isBlank)
      if tokens.isEmpty { throw .missingValue(row: rowNumber, column: values.count + 1) }
      for token in tokens {
        values.append(try parseValue(String(token), row: rowNumber, column: values.count + 1))
      }
    }
    return values
  }

  private static func parseValue(
    _ token: String, row: Int, column: Int
  ) throws(KernelError)
    -> Float
  {
    let parts = token.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count <= 2, let numerator = decimal(parts[0]) else {
      throw .notANumber(token: token, row: row, column: column)
    }
    var value = numerator
    if parts.count == 2 {
      guard let denominator = decimal(parts[1]) else {
        throw .notANumber(token: token, row: row, column: column)
      }
      value = numerator / denominator
    }
    let single = Float(value)
    guard value.isFinite, single.isFinite else {
      throw .nonFinite(token: token, row: row, column: column)
    }
    return single
  }

  /// A plain decimal number. Swift's `Double(_:)` also takes hex floats, which
  /// nobody means in a kernel, so those are refused; `nan`/`inf` parse and are
  /// refused later as non-finite, which gives the clearer message.
  private static func decimal(_ text: Substring) -> Double? {
    if text.lowercased().contains("0x") { return nil }
    return Double(text)
  }
}
