import ArgumentParser
import COpenBLAS
import _Runtime

#if canImport(Glibc)
  import Glibc
#endif

/// Settings that change the whole process, so the executable makes them
/// and the libraries do not.
enum ProcessSettings {
  /// The environment variable that sets the thread count for scripts.
  static let threadsVariable = "CONVVIZ_THREADS"

  /// Makes OpenBLAS single-threaded (the kernels call it from their own
  /// threads), keeps training's large buffers in the heap, and applies
  /// `CONVVIZ_THREADS`. Throws `ValidationError` when the variable is set
  /// but not a whole number of at least 1.
  static func apply() throws {
    let threads = try threadCount(
      fromEnvironment: getenv(threadsVariable).map { String(cString: $0) })
    openblas_set_num_threads(1)
    cvz_keep_large_buffers_in_heap()
    if let threads { cvz_set_threads(Int32(clamping: threads)) }
  }

  /// The thread count `CONVVIZ_THREADS=value` asks for: nil when unset or
  /// empty.
  static func threadCount(fromEnvironment value: String?) throws -> Int? {
    guard let value, !value.isEmpty else { return nil }
    guard let count = Int(value), count >= 1 else {
      throw ValidationError(
        "\(threadsVariable) must be a whole number of at least 1, got '\(value)'")
    }
    return count
  }
}
