import Foundation
import XCTest

/// SIGKILL at moments spread over a `convviz filter` run that replaces an
/// existing output: whenever the process dies, the output is either the
/// previous file, byte for byte, or the complete new one; never a partial
/// or corrupt file (Files writes a temporary file and renames it).
final class KilledWriteTests: XCTestCase {
  func testKillDuringWriteLeavesThePreviousOrTheCompleteFile() throws {
    let scratch = try ScratchFolder()
    let input = repositoryFile("samples/astronaut.png")
    let previous = scratch.file("previous.png")
    let complete = scratch.file("complete.png")
    let output = scratch.file("out.png")
    let arguments = ["filter", "-k", "sobel", "--padding", "same", input, "-o"]
    XCTAssertEqual(
      try ConvvizBinary.run(["filter", "-k", "identity", input, "-o", previous]).status, 0)
    let start = Date()
    XCTAssertEqual(try ConvvizBinary.run(arguments + [complete]).status, 0)
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
        now == old || now == new, "kill \(k): out.png is neither file (\(now.count) bytes)")
    }
  }
}
