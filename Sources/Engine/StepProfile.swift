/// Where the forward time of a network goes: wall time per kind of step
/// (an operation with the followers folded into it, "Conv2D+Relu") and the
/// kernel that ran it, summed over the runs made while it is on
/// (`Network.stepProfile`).
///
/// Off by default: the executor then only checks that it is nil. A step
/// that reorders its input from another operation's layout is charged with
/// the reorder, so the figures add up to the forward pass's time less the
/// executor's own bookkeeping.
public struct StepProfile: Sendable, Equatable {
  /// One kind of step on one kernel.
  public struct Entry: Sendable, Equatable {
    /// The node's kind and those of its folded followers, joined by "+".
    public var kind: String
    /// The kernel that ran it (`Operation.kernelDescription`).
    public var kernel: String
    /// How many steps of this kind ran, over all runs.
    public var steps: Int
    /// Their wall time in milliseconds.
    public var milliseconds: Double
  }

  /// The entries in the order first seen.
  public private(set) var entries: [Entry] = []
  /// How many forward runs were profiled.
  public private(set) var runs = 0

  public init() {}

  /// The sum of every entry's time.
  public var totalMilliseconds: Double { entries.reduce(0) { $0 + $1.milliseconds } }

  /// The entries, most time first (ties in the order first seen).
  public var byTime: [Entry] {
    entries.enumerated().sorted {
      $0.element.milliseconds != $1.element.milliseconds
        ? $0.element.milliseconds > $1.element.milliseconds : $0.offset < $1.offset
    }.map(\.element)
  }

  mutating func add(kind: String, kernel: String, milliseconds: Double) {
    if let i = entries.firstIndex(where: { $0.kind == kind && $0.kernel == kernel }) {
      entries[i].steps += 1
      entries[i].milliseconds += milliseconds
    } else {
      entries.append(Entry(kind: kind, kernel: kernel, steps: 1, milliseconds: milliseconds))
    }
  }

  mutating func countRun() { runs += 1 }

  /// Milliseconds since `start`.
  static func milliseconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    let (seconds, attoseconds) = elapsed.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
  }
}
