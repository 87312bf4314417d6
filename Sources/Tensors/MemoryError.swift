/// Why work was refused for lack of memory. `what` names the work, usually
/// beginning with the file it comes from, so the message stands alone.
public enum MemoryError: Error, Hashable, CustomStringConvertible {
  /// The estimate is above the budget; nothing was allocated.
  case overBudget(what: String, estimate: MemoryEstimate, budget: MemoryBudget)
  /// The system refused an allocation the budget allowed.
  case allocationFailed(what: String, estimate: MemoryEstimate)

  public var description: String {
    switch self {
    case .overBudget(let what, let estimate, let budget):
      let needs = estimate.bytes == nil ? "needs \(estimate)" : "needs about \(estimate)"
      return "\(what): \(needs), more than the memory budget of \(budget)"
    case .allocationFailed(let what, let estimate):
      return "\(what): could not allocate \(estimate): the system has no more memory to give"
    }
  }
}
