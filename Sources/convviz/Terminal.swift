import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The one writer of everything convviz prints.
///
/// Results (what was written, tables, predictions) go to stdout, so that it
/// can be piped; notes, warnings, errors, timings and the progress bar go to
/// stderr. Every message is escaped: control characters in file and class
/// names (ESC, BEL, CR...) are shown as `\x1b` and the like instead of
/// reaching the terminal. A message printed while the progress bar is shown
/// erases the bar first and redraws it after, so lines never run into it.
enum Terminal {
  /// One line of results on stdout.
  static func say(_ line: String) { shared.write(escaped(line) + "\n", to: .standardOutput) }

  /// Several lines of results on stdout (a table): line breaks are kept,
  /// every other control character is escaped.
  static func sayLines(_ text: String) {
    let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
    shared.write(escaped(body, keepingLineBreaks: true) + "\n", to: .standardOutput)
  }

  /// Something the user may want to know that is not a problem.
  static func note(_ line: String) {
    shared.write("convviz: note: " + escaped(line) + "\n", to: .standardError)
  }

  static func warn(_ line: String) {
    shared.write("convviz: warning: " + escaped(line) + "\n", to: .standardError)
  }

  /// `convviz: error: <message>`, always one line.
  static func error(_ line: String) {
    shared.write(errorPrefix + escaped(line) + "\n", to: .standardError)
  }

  /// Diagnostics that are not results (timings), as is, on stderr.
  static func diagnostic(_ line: String) {
    shared.write(escaped(line) + "\n", to: .standardError)
  }

  /// Text that comes with its own layout (help, usage), unescaped apart
  /// from control characters other than line breaks.
  static func block(_ text: String, toStandardError: Bool) {
    shared.write(
      escaped(text, keepingLineBreaks: true), to: toStandardError ? .standardError : .standardOutput
    )
  }

  /// Raw bytes on stdout: an image or page written with `-o -`.
  static func writeStandardOutput(_ bytes: UnsafeRawBufferPointer) throws {
    guard shared.writeAll(bytes, to: STDOUT_FILENO) else {
      throw CommandFailure("standard output: cannot write: \(String(cString: strerror(errno)))")
    }
  }

  static let errorPrefix = "convviz: error: "

  static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }
  static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

  /// `text` with control characters (C0 except, when asked, line breaks;
  /// DEL; C1) replaced by visible escapes: `\n`, `\t`, `\r`, `\x1b`, `\u{9b}`.
  static func escaped(_ text: String, keepingLineBreaks: Bool = false) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
      switch scalar.value {
      case 0x0A where keepingLineBreaks: out.unicodeScalars.append(scalar)
      case 0x0A: out += "\\n"
      case 0x09: out += "\\t"
      case 0x0D: out += "\\r"
      case 0x00..<0x20, 0x7F: out += "\\x" + hex(scalar.value)
      case 0x80..<0xA0: out += "\\u{" + hex(scalar.value) + "}"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  private static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return digits.count < 2 ? "0" + digits : digits
  }

  // MARK: The progress bar's line

  /// Shows `line` as the progress bar (replacing the previous one), on
  /// stderr. Callers draw only when stderr is a terminal.
  static func showProgress(_ line: String) { shared.showProgress(line) }

  /// Erases the progress bar for good.
  static func hideProgress() { shared.hideProgress() }

  fileprivate static let shared = Writer()
}

/// The state behind `Terminal`: which progress line is on screen. One lock
/// orders every write, so lines from parallel workers never interleave.
private final class Writer: Sendable {
  enum Stream { case standardOutput, standardError }

  private let progressLine = Mutex<String?>(nil)
  private static let eraseLine = "\r\u{1B}[K"

  func write(_ text: String, to stream: Stream) {
    progressLine.withLock { bar in
      // A bar on the same screen must be erased first; stdout that is piped
      // elsewhere leaves it alone.
      let shared = bar != nil && (stream == .standardError || Terminal.standardOutputIsTerminal)
      if shared { writeText(Self.eraseLine, to: STDERR_FILENO) }
      writeText(text, to: stream == .standardOutput ? STDOUT_FILENO : STDERR_FILENO)
      if shared, let bar { writeText(Self.eraseLine + bar, to: STDERR_FILENO) }
    }
  }

  func showProgress(_ line: String) {
    progressLine.withLock { bar in
      bar = line
      writeText(Self.eraseLine + line, to: STDERR_FILENO)
    }
  }

  func hideProgress() {
    progressLine.withLock { bar in
      if bar != nil { writeText(Self.eraseLine, to: STDERR_FILENO) }
      bar = nil
    }
  }

  private func writeText(_ text: String, to fd: Int32) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { writeAll(UnsafeRawBufferPointer($0), to: fd) }
  }

  /// Writes every byte, retrying short writes and EINTR; false on failure.
  func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
    var offset = 0
    while offset < bytes.count {
      let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return false }
      offset += n
    }
    return true
  }
}
