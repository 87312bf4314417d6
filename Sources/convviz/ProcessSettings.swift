import ArgumentParser
import Foundation
import COpenBLAS
import Engine
import _OpenBLAS
import _Runtime

#if canImport(Glibc)
  import Glibc
#endif

/// Settings that change the whole process, so the executable makes them
/// and the libraries do not.
enum ProcessSettings {
  /// The environment variable that sets the thread count for scripts.
  static let threadsVariable = "CONVVIZ_THREADS"
  /// The environment variable that turns the oneDNN inference path off
  /// (`0`) or on (`1`, the default).
  static let oneDNNVariable = "CONVVIZ_DNNL"
  /// The environment variable that turns Winograd off (`0`) or on (`1`,
  /// the default) for training's 3×3 convolutions on oneDNN.
  static let winogradVariable = "CONVVIZ_WINOGRAD"
  /// The environment variable that turns `filter`'s and `pool`'s streaming
  /// path off (`0`: every image takes the whole-image path, for comparisons)
  /// or on (`1`, the default).
  static let streamingVariable = "CONVVIZ_STREAMING"
  /// False when `CONVVIZ_STREAMING=0`.
  nonisolated(unsafe) static var streams = true

  /// An environment variable and the value the process gives it.
  struct EnvironmentSetting: Equatable {
    var name: String
    var value: String
  }

  /// How OpenMP's threads (oneDNN's, from libgomp) wait between parallel
  /// regions, from how many other threads are runnable when the process
  /// starts: while they leave more than half the cores free, convviz's
  /// threads spin for about 0.1 ms (`GOMP_SPINCOUNT` 10000) before
  /// sleeping, else they sleep at once (`passive`). Measured on a 2-core
  /// virtual machine, 2 threads: idle, sleeping threads took 60–80% longer
  /// for MobileNetV2 and about 15% longer for ResNet-18 at batch 1 (waking
  /// an idle virtual CPU is slow); with one core busy, spinning ones took
  /// 3.5× as long for MobileNetV2 (they hold a core the thread the next
  /// region waits for could use). The 1-minute load average lags too much
  /// to tell the two apart: it read 0.98 with a busy loop on one core.
  /// Unknown: sleep.
  static func openMPWaitSettings(otherRunnableThreads: Int?, cores: Int) -> [EnvironmentSetting] {
    if let otherRunnableThreads, otherRunnableThreads * 2 < cores {
      return [
        EnvironmentSetting(name: "OMP_WAIT_POLICY", value: "active"),
        EnvironmentSetting(name: "GOMP_SPINCOUNT", value: "10000"),
      ]
    }
    return [EnvironmentSetting(name: "OMP_WAIT_POLICY", value: "passive")]
  }

  /// The runnable threads besides the caller's one, from the text of
  /// `/proc/loadavg` ("0.98 1.18 1.77 2/86 22803": the fourth field counts
  /// the runnable threads, the caller included), or nil.
  static func otherRunnableThreads(loadavg text: String?) -> Int? {
    guard let text else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count >= 4 else { return nil }
    let counts = fields[3].split(separator: "/")
    guard counts.count == 2, let runnable = Int(counts[0]), runnable >= 1 else { return nil }
    return runnable - 1
  }

  /// Makes OpenBLAS single-threaded (the kernels call it from their own
  /// threads), keeps training's large buffers in the heap, sets how
  /// OpenMP's threads (oneDNN's) wait between regions
  /// (`openMPWaitSettings`) unless `OMP_WAIT_POLICY` or `GOMP_SPINCOUNT`
  /// is set, and applies
  /// `CONVVIZ_THREADS`, `CONVVIZ_DNNL` and `CONVVIZ_WINOGRAD`. Throws `ValidationError` when
  /// a variable is set to something it does not take.
  static func apply() throws {
    let threads = try threadCount(
      fromEnvironment: getenv(threadsVariable).map { String(cString: $0) })
    // Read by libgomp when oneDNN first loads it (see cvz_dnnl.h).
    if getenv("OMP_WAIT_POLICY") == nil, getenv("GOMP_SPINCOUNT") == nil {
      let loadavg = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)
      let settings = openMPWaitSettings(
        otherRunnableThreads: otherRunnableThreads(loadavg: loadavg),
        cores: ProcessInfo.processInfo.activeProcessorCount)
      for setting in settings { setenv(setting.name, setting.value, 1) }
    }
    if let oneDNN = try oneDNNSwitch(
      fromEnvironment: getenv(oneDNNVariable).map { String(cString: $0) })
    {
      OneDNN.isEnabled = oneDNN
    }
    if let winograd = try oneDNNSwitch(
      fromEnvironment: getenv(winogradVariable).map { String(cString: $0) },
      variable: winogradVariable)
    {
      OneDNNTraining.usesWinograd = winograd
    }
    if let streaming = try oneDNNSwitch(
      fromEnvironment: getenv(streamingVariable).map { String(cString: $0) },
      variable: streamingVariable)
    {
      streams = streaming
    }
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

  /// What `CONVVIZ_DNNL=value` (or another on/off `variable`) asks for:
  /// nil when unset or empty.
  static func oneDNNSwitch(
    fromEnvironment value: String?, variable: String = oneDNNVariable
  ) throws -> Bool? {
    switch value {
    case nil, "": return nil
    case "0": return false
    case "1": return true
    case let value?:
      throw ValidationError("\(variable) must be 0 or 1, got '\(value)'")
    }
  }

  /// The kernels inference runs on, for `--timings`: oneDNN's version and
  /// instruction set, or why not, and OpenBLAS's core and who chose it
  /// (convviz from the CPU's features when `OPENBLAS_CORETYPE` is unset,
  /// see cvz_openblas.h).
  static var kernelDescription: String {
    let oneDNN =
      !OneDNN.isEnabled
      ? "oneDNN off (\(oneDNNVariable)=0)"
      : OneDNN.unavailableReason.map { "oneDNN unavailable (\($0))" }
        ?? "oneDNN \(OneDNN.version) \(OneDNN.instructionSet)"
    let core = String(cString: openblas_get_corename())
    let chosenBy =
      cvz_openblas_chosen_core() != nil
      ? " (from CPUID)"
      : getenv("OPENBLAS_CORETYPE") != nil ? " (OPENBLAS_CORETYPE)" : ""
    return "\(oneDNN), OpenBLAS \(core)\(chosenBy)"
  }
}
