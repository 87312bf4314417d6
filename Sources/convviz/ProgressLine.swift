import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on stderr for work over many files, drawn only
/// when stderr is a terminal and there are enough items to be worth it.
/// Safe to advance from several threads.
final class ProgressLine: @unchecked Sendable {
  private let total: Int
  private let label: String
  private let enabled: Bool
  private let start = Date()
  private var done = 0
  private let lock = NSLock()

  init(total: Int, label: String, minimumItems: Int = 4) {
    self.total = total
    self.label = label
    enabled = total >= minimumItems && Terminal.standardErrorIsTerminal
  }

  func advance() {
    lock.lock()
    defer { lock.unlock() }
    done += 1
    guard enabled else { return }
    let width = 30
    let filled = total == 0 ? width : done * width / total
    let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
    let elapsed = Date().timeIntervalSince(start)
    let eta = done == 0 ? 0 : elapsed / Double(done) * Double(total - done)
    Terminal.toStandardError(
      String(format: "\r%@ %@ %d/%d  %.1fs elapsed, ETA %.1fs", label, bar, done, total, elapsed, eta))
  }

  func finish() {
    guard enabled else { return }
    Terminal.toStandardError("\n")
  }
}

/// Messages collected from parallel work.
final class FailureList: @unchecked Sendable {
  private var messages: [String] = []
  private let lock = NSLock()

  func append(_ message: String) {
    lock.lock()
    messages.append(message)
    lock.unlock()
  }

  var all: [String] {
    lock.lock()
    defer { lock.unlock() }
    return messages
  }
}

/// Wall-clock laps in milliseconds.
struct Stopwatch {
  private var last = DispatchTime.now().uptimeNanoseconds

  mutating func lap() -> Double {
    let now = DispatchTime.now().uptimeNanoseconds
    defer { last = now }
    return Double(now - last) / 1e6
  }
}
