#if canImport(Glibc)
  import Glibc
#endif

/// How much memory one command may plan to use; work estimated above it is
/// refused before it starts, rather than aborted halfway (or killed by the
/// system) when an allocation fails.
///
/// The executable chooses the budget (`--max-memory`); by default it is
/// `defaultFraction` of the memory the process can have: the physical
/// memory, or less when a cgroup memory limit or an address-space limit
/// (`ulimit -v`) says so.
public struct MemoryBudget: Sendable, Hashable, CustomStringConvertible {
  public let bytes: Int

  public init(bytes: Int) {
    precondition(bytes >= 1, "a memory budget must be at least 1 byte")
    self.bytes = bytes
  }

  /// Three quarters: the rest is left to the system, other programs, and
  /// what the estimates leave out (code, stacks, small buffers).
  public static let defaultFraction = 0.75

  /// `defaultFraction` of `availableMemory`, or 1 GiB when that is unknown.
  public static func systemDefault() -> MemoryBudget {
    guard let available = availableMemory else { return MemoryBudget(bytes: 1 << 30) }
    return MemoryBudget(bytes: max(1, Int(Double(available) * defaultFraction)))
  }

  /// `fraction` of `availableMemory` (1 GiB when that is unknown).
  public static func fraction(_ fraction: Double) -> MemoryBudget {
    precondition(fraction > 0, "a budget fraction must be positive")
    let available = Double(availableMemory ?? 1 << 30)
    return MemoryBudget(bytes: Int(min(available * fraction, Double(Int.max / 2))))
  }

  /// The physical memory (`sysconf(_SC_PHYS_PAGES)` pages), lowered to the
  /// cgroup memory limit and the address-space limit when either is set.
  public static var availableMemory: Int? {
    var limits: [Int] = []
    let pages = sysconf(Int32(_SC_PHYS_PAGES))
    let pageSize = sysconf(Int32(_SC_PAGESIZE))
    if pages > 0 && pageSize > 0 {
      let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
      limits.append(overflow ? Int.max : bytes)
    }
    // cgroup v2, then v1: "max" (or v1's near-Int.max) means no limit.
    for file in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
      if let text = smallFile(file), let bytes = Int(text), bytes > 0 { limits.append(bytes) }
    }
    // RLIM_INFINITY is all ones, above Int.max like any other "no limit".
    var limit = rlimit()
    if getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0,
      limit.rlim_cur < UInt(Int.max)
    {
      limits.append(Int(limit.rlim_cur))
    }
    return limits.min()
  }

  /// Refuses `estimate` when it is above the budget, then asks the system
  /// whether it could supply that much right now (`probe`).
  ///
  /// `what` names the work in the error ("photo.jpg: feature maps").
  public func check(_ estimate: MemoryEstimate, for what: String) throws(MemoryError) {
    guard let needed = estimate.bytes, needed <= bytes else {
      throw .overBudget(what: what, estimate: estimate, budget: self)
    }
    try Self.probe(needed, for: what)
  }

  /// Allocates `bytes` with malloc and frees them at once, throwing when
  /// malloc fails.
  ///
  /// Swift arrays stop the process when their allocation fails, so a step
  /// about to make large arrays asks first: with an address-space limit, or
  /// more than the system can overcommit, malloc returns NULL here and the
  /// command ends with an error instead of a crash. It cannot promise the
  /// memory is still there a moment later; the budget is the real guard.
  public static func probe(_ bytes: Int, for what: String) throws(MemoryError) {
    guard bytes > 0 else { return }
    guard let block = malloc(bytes) else {
      throw .allocationFailed(what: what, estimate: MemoryEstimate(bytes: bytes))
    }
    free(block)
  }

  /// "17.9 GiB".
  public var description: String { MemoryEstimate.format(bytes) }

  /// The trimmed first line of a small text file, or nil when unreadable.
  private static func smallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 64)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 64) }
    guard n > 0 else { return nil }
    let text = String(decoding: buffer[..<n], as: UTF8.self)
    return text.split(whereSeparator: { $0 == "\n" || $0 == " " }).first.map(String.init)
  }
}
