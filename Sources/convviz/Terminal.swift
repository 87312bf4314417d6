#if canImport(Glibc)
import Glibc
#endif

/// Writes the command's messages. Results go to stdout (what was written);
/// warnings, errors, progress and timings go to stderr, so that stdout stays
/// scriptable.
enum Terminal {
  static func say(_ line: String) {
    print(line)
    fflush(stdout)
  }

  static func warn(_ line: String) {
    toStandardError("convviz: warning: \(line)\n")
  }

  static func error(_ line: String) {
    toStandardError("convviz: error: \(line)\n")
  }

  static func toStandardError(_ text: String) {
    fputs(text, stderr)
  }

  static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }
  static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }
}

/// A failure of the work a command was asked to do, already worded for the user.
struct CommandFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
