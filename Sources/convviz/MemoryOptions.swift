import ArgumentParser
import Foundation
import Tensors

/// `--max-memory`, shared by every command that reads models, data or
/// images: work estimated (from headers, shapes and options) to need more
/// is refused before it starts, with one line naming the estimate.
struct MemoryOptions: ParsableArguments {
  @Option(
    name: .customLong("max-memory"), parsing: .unconditional,
    help: ArgumentHelp(
      "Refuse work estimated to need more memory than this: bytes, or a number with K, M, G "
        + "or T (binary: 1G = 1024³ bytes), or a percentage of the machine's memory "
        + "(default: 75%, of the cgroup or ulimit -v limit when lower).",
      valueName: "size"),
    transform: MemorySize.parse)
  var maxMemory: MemorySize?

  /// The budget the option sets, or the default share of memory.
  var budget: MemoryBudget {
    switch maxMemory {
    case nil: return .systemDefault()
    case .bytes(let bytes): return MemoryBudget(bytes: bytes)
    case .percent(let percent): return .fraction(percent / 100)
    }
  }

  /// Refuses `estimate` when it exceeds the budget, naming `what` and the
  /// option to raise; `alternative` adds another way out ("or shrink the
  /// photo").
  func check(_ estimate: MemoryEstimate, for what: String, alternative: String? = nil) throws {
    do {
      try budget.check(estimate, for: what)
    } catch {
      throw CommandFailure(memory: error, alternative: alternative)
    }
  }
}

/// A `--max-memory` value.
enum MemorySize: Equatable, Sendable {
  case bytes(Int)
  /// A share of the memory the process can have, in percent.
  case percent(Double)

  /// `4G`, `512M`, `1.5GiB`, `123456789`, `50%`.
  @Sendable static func parse(_ text: String) throws -> MemorySize {
    let problem = ValidationError(
      "give a size such as 512M, 4G or 1.5T (K, M, G, T: binary multiples), a byte count, "
        + "or a percentage such as 50%")
    var number = text.trimmingCharacters(in: .whitespaces).lowercased()
    if number.hasSuffix("%") {
      guard let percent = Double(number.dropLast()), percent.isFinite, percent > 0 else {
        throw problem
      }
      return .percent(percent)
    }
    for suffix in ["ib", "b"] where number.hasSuffix(suffix) {
      number.removeLast(suffix.count)
      break
    }
    let units: [Character: Double] = ["k": 0x1p10, "m": 0x1p20, "g": 0x1p30, "t": 0x1p40]
    var factor = 1.0
    if let last = number.last, let unit = units[last] {
      factor = unit
      number.removeLast()
    }
    guard let value = Double(number), value.isFinite, value > 0 else { throw problem }
    let bytes = (value * factor).rounded()
    guard bytes >= 1 else { throw ValidationError("--max-memory must be at least 1 byte") }
    guard bytes < 0x1p62 else { throw ValidationError("--max-memory is larger than any memory") }
    return .bytes(Int(bytes))
  }
}
