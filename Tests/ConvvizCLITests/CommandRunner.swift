import Foundation
import XCTest

/// Runs the built `convviz` binary, as a user would, and captures what it
/// printed and its exit status. Shared by every CLI test file.
struct CommandResult {
  var status: Int32
  var standardOutput: String
  var standardError: String
  /// stdout's bytes as written (an image or page sent with `-o -`).
  var standardOutputBytes: Data
}

enum ConvvizBinary {
  /// The folder holding the built products (`.build/debug`), found next to
  /// the test bundle.
  static var productsDirectory: URL {
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
      return bundle.bundleURL.deletingLastPathComponent()
    }
    return Bundle.main.bundleURL
  }

  static var url: URL { productsDirectory.appendingPathComponent("convviz") }

  /// The decoded-image cache of every run of this test process, away from
  /// the user's own (`XDG_CACHE_HOME`, unless a test sets it); removed when
  /// the process exits.
  static let cacheHome: String = {
    atexit { try? FileManager.default.removeItem(atPath: ConvvizBinary.cacheHome) }
    return NSTemporaryDirectory() + "convviz-test-cache-\(getpid())"
  }()

  /// Runs `convviz arguments...` in `directory` (default: a fresh temporary
  /// folder is not created; the caller's working directory is used), with
  /// `environment` added to the test's own and the variables in `removing`
  /// taken out of it. With `timeout`, a run still going
  /// after that many seconds is interrupted (status 2, SIGINT's number), so a
  /// hang fails a test instead of stalling it.
  @discardableResult
  static func run(
    _ arguments: [String], in directory: URL? = nil, timeout: Double? = nil,
    environment: [String: String] = [:], removing: Set<String> = [],
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> CommandResult {
    let process = Process()
    process.executableURL = url
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    process.environment = ProcessInfo.processInfo.environment
      .merging(["XDG_CACHE_HOME": cacheHome]) { $1 }
      .merging(environment) { $1 }
      .filter { !removing.contains($0.key) }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let watchdog = DispatchWorkItem { if process.isRunning { process.interrupt() } }
    if let timeout {
      DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    }
    // Read before waiting so a chatty command cannot fill the pipe and block.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    watchdog.cancel()
    return CommandResult(
      status: process.terminationStatus,
      standardOutput: String(decoding: outData, as: UTF8.self),
      standardError: String(decoding: errData, as: UTF8.self), standardOutputBytes: outData)
  }
}

/// A temporary folder removed when the test ends.
final class ScratchFolder {
  let url: URL
  var path: String { url.path }

  init() throws {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("convviz-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  func file(_ name: String) -> String { url.appendingPathComponent(name).path }

  /// Names of the entries in the folder (or a sub-folder), sorted.
  func contents(_ sub: String = "") -> [String] {
    let folder = sub.isEmpty ? url : url.appendingPathComponent(sub)
    return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
  }

  deinit { try? FileManager.default.removeItem(at: url) }
}
