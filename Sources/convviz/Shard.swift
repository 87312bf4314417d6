import ArgumentParser

/// `--shard K/N`: the K-th of N disjoint parts of an input list (K from 1),
/// so N independent jobs share a list with no coordination.
///
/// Input number i of the list (counting from 0, folders expanded, in the
/// order given) belongs to part (i mod N) + 1: every input is in exactly
/// one part, parts differ in size by at most one, and the split depends on
/// nothing but the list and N.
struct Shard: Sendable, Equatable, CustomStringConvertible {
  /// 1...count.
  let number: Int
  let count: Int

  init(number: Int, count: Int) {
    precondition(count >= 1 && (1...count).contains(number), "shard K/N needs 1 ≤ K ≤ N")
    self.number = number
    self.count = count
  }

  /// The positions in a list of `total` inputs that belong to this part.
  func positions(among total: Int) -> StrideTo<Int> {
    stride(from: number - 1, to: total, by: count)
  }

  var description: String { "\(number)/\(count)" }

  /// Reads `K/N`, with a message that says what is wrong.
  @Sendable static func parse(_ argument: String) throws -> Shard {
    let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else {
      throw ValidationError("give K/N, two whole numbers such as 1/4")
    }
    guard n >= 1 else { throw ValidationError("N, the number of shards, must be at least 1") }
    guard (1...n).contains(k) else {
      throw ValidationError("K must be between 1 and N (\(n)); shards count from 1")
    }
    return Shard(number: k, count: n)
  }
}

/// What a batch does after an input fails.
enum ErrorPolicy: String, EnumerableFlag, Sendable {
  /// Report the input, go on with the others, exit 1 at the end.
  case keepGoing
  /// Start no new input after the first failure, exit 1.
  case failFast

  static func help(for value: ErrorPolicy) -> ArgumentHelp? {
    switch value {
    case .keepGoing: "After a failed input, go on with the others and exit 1 at the end."
    case .failFast: "Stop at the first failed input (those already running finish) and exit 1."
    }
  }
}
