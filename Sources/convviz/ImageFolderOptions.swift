import ArgumentParser
import Datasets
import Foundation
import Synchronization
import _Runtime

/// How image-folder data sets are read: `--skip-bad`, the decoded cache
/// (`--no-cache`, `--cache-dir`). Decoding uses the kernels' thread count
/// (`--threads`, `CONVVIZ_THREADS`, else one per core) and shows a
/// progress bar on a terminal.
struct ImageFolderOptions: ParsableArguments {
  @Flag(
    help: ArgumentHelp(
      "Leave out images that fail to decode (or differ in size), listing each with its "
        + "error, instead of stopping at the first."))
  var skipBad = false

  @Flag(help: "Decode image folders again instead of using (or writing) the decoded cache.")
  var noCache = false

  @Option(
    help: ArgumentHelp(
      "Where decoded image folders are cached (default: $XDG_CACHE_HOME/convviz, else "
        + "~/.cache/convviz).",
      valueName: "dir"))
  var cacheDir: String?

  /// The cache folder `--cache-dir` or the environment gives; nil with
  /// `--no-cache` or when there is no home to put it in.
  var cacheFolder: String? {
    if noCache { return nil }
    if let cacheDir { return cacheDir }
    let environment = ProcessInfo.processInfo.environment
    if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
      return xdg + "/convviz"
    }
    if let home = environment["HOME"], !home.isEmpty { return home + "/.cache/convviz" }
    return nil
  }

  func validate() throws {
    if noCache && cacheDir != nil {
      throw ValidationError("--no-cache and --cache-dir contradict each other")
    }
  }

  /// The reading settings, with a progress bar that appears once decoding
  /// has a total to count towards.
  func reading(progress: DecodingProgress) -> ImageFolderReading {
    ImageFolderReading(
      threads: Int(cvz_threads()), skipBad: skipBad, cacheFolder: cacheFolder,
      progress: { done, total in progress.update(done: done, total: total) })
  }
}

/// The "decoding" progress bar, made when the first file is counted.
final class DecodingProgress: Sendable {
  private let bar = Mutex<ProgressBar?>(nil)

  func update(done: Int, total: Int) {
    bar.withLock { bar in
      if bar == nil { bar = ProgressBar(label: "decoding images", total: total, minimumSteps: 200) }
      bar?.update(done: done)
    }
  }

  func finish() { bar.withLock { $0?.finish() } }
}
