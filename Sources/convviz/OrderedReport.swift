import Synchronization

/// Messages from work done in parallel, printed in input order: each
/// input's lines appear once it and every input before it are done, so a
/// run prints the same lines in the same order every time.
final class OrderedReport: Sendable {
  enum Line: Sendable {
    case result(String)
    case note(String)
    case warning(String)
    case error(String)
    case diagnostic(String)
  }

  private struct State {
    var finished: [[Line]?]
    var next = 0
    var failures = 0
  }

  private let state: Mutex<State>

  init(count: Int) {
    state = Mutex(State(finished: Array(repeating: nil, count: count)))
  }

  /// Input `index` is done; prints whatever is now in order.
  func finish(_ index: Int, _ lines: [Line]) {
    state.withLock { state in
      state.finished[index] = lines
      if lines.contains(where: { if case .error = $0 { true } else { false } }) {
        state.failures += 1
      }
      while state.next < state.finished.count, let ready = state.finished[state.next] {
        for line in ready { Self.print(line) }
        state.finished[state.next] = []
        state.next += 1
      }
    }
  }

  /// How many inputs reported an error.
  var failures: Int { state.withLock { $0.failures } }

  private static func print(_ line: Line) {
    switch line {
    case .result(let text): Terminal.say(text)
    case .note(let text): Terminal.note(text)
    case .warning(let text): Terminal.warn(text)
    case .error(let text): Terminal.error(text)
    case .diagnostic(let text): Terminal.diagnostic(text)
    }
  }
}
