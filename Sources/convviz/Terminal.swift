#if canImport(Glibc)
import Glibc
#endif

/// Writes the command's messages. Results go to stdout (what was written);
/// warnings, errors, progress and timings go to stderr, so that stdout stays
/// scriptable.
enum Terminal {
  static func say(_ line: String) {
    writeAll(line + "\n", to: STDOUT_FILENO)
  }

  static func warn(_ line: String) {
    toStandardError("convviz: warning: \(line)\n")
  }

  static func error(_ line: String) {
    toStandardError("convviz: error: \(line)\n")
  }

  static func toStandardError(_ text: String) {
    writeAll(text, to: STDERR_FILENO)
  }

  /// One write(2) per message, so lines from parallel workers do not interleave.
  private static func writeAll(_ text: String, to fd: Int32) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n <= 0 { return }
      offset += n
    }
  }

  static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }
  static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }
}

/// A failure of the work a command was asked to do, already worded for the user.
struct CommandFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
