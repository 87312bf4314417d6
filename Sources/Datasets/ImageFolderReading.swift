import Synchronization

/// How an image folder is read, beyond what every data set takes.
public struct ImageFolderReading: Sendable {
  /// Decoding workers (at least 1). The result does not depend on it.
  public var threads: Int
  /// Leave out files that fail to decode (or, without resizing, have
  /// another size than the first readable image) and list them in
  /// `DatasetSplits.skipped`, instead of failing at the first one.
  public var skipBad: Bool
  /// Where decoded caches are kept (see `DecodedCache`); nil: no cache.
  public var cacheFolder: String?
  /// Hears (files done, files in all) as decoding goes, from any thread.
  public var progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?
  /// Floats decoded at a time before they are kept as bytes (or not).
  var chunkBytes = 64 << 20

  public init(
    threads: Int = 1, skipBad: Bool = false, cacheFolder: String? = nil,
    progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
  ) {
    precondition(threads >= 1, "threads must be at least 1")
    self.threads = threads
    self.skipBad = skipBad
    self.cacheFolder = cacheFolder
    self.progress = progress
  }
}

/// A file `ImageFolderReading.skipBad` left out, and why.
public struct SkippedImage: Sendable, Equatable, CustomStringConvertible {
  public var path: String
  /// The error that would have stopped the load, worded as it would have been.
  public var reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  public var description: String { reason.hasPrefix(path) ? reason : "\(path): \(reason)" }
}

/// Counts decoded files across threads and passes the count on.
final class ProgressCounter: Sendable {
  private let done = Atomic<Int>(0)
  private let total: Int
  private let report: (@Sendable (Int, Int) -> Void)?

  init(total: Int, report: (@Sendable (Int, Int) -> Void)?) {
    self.total = total
    self.report = report
  }

  func advance() {
    let now = done.add(1, ordering: .relaxed).newValue
    report?(now, total)
  }
}
