import Foundation
import XCTest

/// SIGKILL at moments spread over a `convviz filter` run that replaces an
/// existing output: whenever the process dies, the output is either the
/// previous file, byte for byte, or the complete new one; never a partial
/// or corrupt file (Files writes a temporary file and renames it). The runs
/// below take the streaming path, which writes the temporary file while it
/// is still decoding; `-o -` is the whole-image path's case.
final class KilledWriteTests: XCTestCase {
  func testKillDuringWriteLeavesThePreviousOrTheCompleteFile() throws {
    try checkKills(
      input: repositoryFile("samples/astronaut.png"), output: "out.png",
      arguments: ["filter", "-k", "sobel", "--padding", "same"])
  }

  func testKillDuringStreamingJPEGWriteLeavesThePreviousOrTheCompleteFile() throws {
    try checkKills(
      input: repositoryFile("samples/hubble_deep_field.jpg"), output: "out.jpg",
      arguments: ["filter", "-k", "edges", "--padding", "same", "--border", "reflect"])
  }

  func testKillDuringStreamingPPMWriteLeavesThePreviousOrTheCompleteFile() throws {
    try checkKills(
      input: repositoryFile("samples/hubble_deep_field.jpg"), output: "out.ppm",
      arguments: ["filter", "-k", "blur", "--padding", "same"])
  }

  func testKillDuringStreamingPoolWriteLeavesThePreviousOrTheCompleteFile() throws {
    try checkKills(
      input: repositoryFile("samples/hubble_deep_field.jpg"), output: "out.png",
      arguments: ["pool", "--mode", "average", "--size", "2", "--stride", "1"])
  }

  func testKillDuringTwoPassNormalizeLeavesThePreviousOrTheCompleteFile() throws {
    try checkKills(
      input: repositoryFile("samples/astronaut.png"), output: "out.png",
      arguments: ["filter", "-k", "edges", "--range", "normalize"])
  }

  private func checkKills(input: String, output name: String, arguments options: [String]) throws {
    let scratch = try ScratchFolder()
    let ext = (name as NSString).pathExtension
    let previous = scratch.file("previous.\(ext)")
    let complete = scratch.file("complete.\(ext)")
    let output = scratch.file(name)
    let arguments = options + [input, "-o"]
    XCTAssertEqual(
      try ConvvizBinary.run(["filter", "-k", "identity", input, "-o", previous]).status, 0)
    let start = Date()
    let straight = try ConvvizBinary.run(arguments + [complete, "--timings"])
    XCTAssertEqual(straight.status, 0, straight.standardError)
    XCTAssertTrue(
      straight.standardError.contains("timing path streaming"), straight.standardError)
    let duration = Date().timeIntervalSince(start)
    let old = try Data(contentsOf: URL(fileURLWithPath: previous))
    let new = try Data(contentsOf: URL(fileURLWithPath: complete))
    XCTAssertNotEqual(old, new)

    let kills = 12
    for k in 0..<kills {
      try? FileManager.default.removeItem(atPath: output)
      try FileManager.default.copyItem(atPath: previous, toPath: output)
      let process = Process()
      process.executableURL = ConvvizBinary.url
      process.arguments = arguments + [output]
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try process.run()
      // From just after the start to a little past the straight run's length.
      usleep(UInt32(duration * 1.1 * Double(k) / Double(kills - 1) * 1_000_000))
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      let now = try Data(contentsOf: URL(fileURLWithPath: output))
      XCTAssertTrue(
        now == old || now == new, "kill \(k): \(name) is neither file (\(now.count) bytes)")
    }
  }
}
