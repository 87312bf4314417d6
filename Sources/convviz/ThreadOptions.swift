import ArgumentParser
import _Runtime

/// `--threads`, for the commands whose work the kernels split across
/// threads (`filter`, `pool`, `train`, `evaluate`, `predict`, `explain`). It wins over `CONVVIZ_THREADS`,
/// which `ProcessSettings` applies at start-up for every command.
struct ThreadOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Threads for the filter and network kernels (default: $\(ProcessSettings.threadsVariable), else one per core).",
      valueName: "n"))
  var threads: Int?

  func validate() throws {
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
  }

  /// Sets the kernels' thread count when `--threads` was given. The same
  /// seed gives the same model file whatever the count.
  func apply() {
    if let threads { cvz_set_threads(Int32(clamping: threads)) }
  }
}
