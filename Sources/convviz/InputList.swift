import Files
import Foundation

/// `--from-list FILE`: the inputs named in a file, one a line.
enum InputList {
  /// Largest list read: ten million 100-byte paths.
  static let maximumBytes = 1 << 30

  /// The lines of `path` (`-`: standard input), each one input as written
  /// (LF or CRLF line ends); lines of only spaces and tabs are skipped.
  static func read(_ path: String) throws -> [String] {
    let bytes: [UInt8]
    if path == "-" {
      bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
    } else {
      bytes = try FileContents.read(path, maximumBytes: maximumBytes)
    }
    return entries(of: String(decoding: bytes, as: UTF8.self))
  }

  static func entries(of text: String) -> [String] {
    // "\r\n" is one Character in Swift, so it is a separator of its own.
    text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).compactMap { line in
      line.allSatisfy({ $0 == " " || $0 == "\t" }) ? nil : String(line)
    }
  }
}
