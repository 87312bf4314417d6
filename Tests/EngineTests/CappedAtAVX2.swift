import Foundation
import XCTest

extension XCTestCase {
  /// Runs `tests` (an XCTest filter: "EngineTests.Class" or
  /// "EngineTests.Class/testName") in a child process of this test binary
  /// with oneDNN capped at AVX2 (`DNNL_MAX_CPU_ISA`, which oneDNN reads
  /// once per process), asserts that the child exited 0, and returns its
  /// output for the caller's own checks. Skips when this process is capped
  /// already or when `instructionSet`, what oneDNN uses here uncapped, is
  /// AVX2 (the uncapped run covered it).
  func runCappedAtAVX2(
    _ tests: String, instructionSet: String, file: StaticString = #filePath, line: UInt = #line
  ) throws -> String {
    guard ProcessInfo.processInfo.environment["DNNL_MAX_CPU_ISA"] == nil else {
      throw XCTSkip("already capped by DNNL_MAX_CPU_ISA")
    }
    guard instructionSet != "avx2" else {
      throw XCTSkip("oneDNN runs AVX2 here already: the uncapped tests covered it")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    process.arguments = [tests]
    var environment = ProcessInfo.processInfo.environment
    environment["DNNL_MAX_CPU_ISA"] = "AVX2"
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, text, file: file, line: line)
    return text
  }
}
