import Foundation
import XCTest

/// `convviz filter` on its streaming path: chosen automatically, the same
/// bytes as the whole-image path (which `-o -` takes, since standard output
/// is written whole), `--timings` saying which ran and why, and a damaged
/// input refused as before with the destination left as it was.
final class StreamingFilterCommandTests: XCTestCase {
  let astronaut = repositoryFile("samples/astronaut.png")
  let rocket = repositoryFile("samples/rocket.jpg")

  func testStreamingWritesTheBytesOfTheWholeImagePath() throws {
    let scratch = try ScratchFolder()
    for (input, format, options) in [
      (astronaut, "png", ["-k", "sobel", "--padding", "same", "--border", "reflect"]),
      (rocket, "jpg", ["-k", "edges"]),
      (rocket, "png", ["-k", "blur", "--stride", "2", "--dilation", "2", "--gray"]),
      (astronaut, "jpg", ["-k", "sharpen", "--padding", "3", "--border", "replicate"]),
    ] {
      let output = scratch.file("out.\(format)")
      let streamed = try ConvvizBinary.run(
        ["filter", input, "-o", output, "--timings"] + options)
      XCTAssertEqual(streamed.status, 0, streamed.standardError)
      XCTAssertTrue(
        streamed.standardError.contains("timing path streaming"), streamed.standardError)
      let whole = try ConvvizBinary.run(
        ["filter", input, "-o", "-", "--format", format == "jpg" ? "jpeg" : "png", "--timings"]
          + options)
      XCTAssertEqual(whole.status, 0, whole.standardError)
      XCTAssertTrue(
        whole.standardError.contains(
          "timing path whole-image: standard output is written whole"), whole.standardError)
      let bytes = try Data(contentsOf: URL(fileURLWithPath: output))
      XCTAssertEqual(bytes, whole.standardOutputBytes, "\(input) \(options)")
    }
  }

  func testTimingsNameThePathAndWhyTheWholeImageIsNeeded() throws {
    let scratch = try ScratchFolder()
    let result = try ConvvizBinary.run(
      [
        "filter", "-k", "edges", "--range", "normalize", "--timings", astronaut, "-o",
        scratch.file("n.png"),
      ])
    XCTAssertEqual(result.status, 0, result.standardError)
    XCTAssertTrue(
      result.standardError.contains("timing path whole-image: --range normalize needs"),
      result.standardError)
    let streamed = try ConvvizBinary.run(
      ["filter", "-k", "edges", "--timings", astronaut, "-o", scratch.file("s.png")])
    for stage in ["decode", "filter", "encode", "write", "total"] {
      XCTAssertNotNil(
        streamed.standardError.range(
          of: "timing \(stage) [0-9.]+ ms", options: .regularExpression),
        streamed.standardError)
    }
  }

  /// A file cut after its first rows: the streaming path has encoded some
  /// rows when the decoder runs out; the error is the whole-image path's,
  /// the destination keeps its old bytes and no temporary file is left.
  func testTruncatedInputLeavesTheDestinationAsItWas() throws {
    let scratch = try ScratchFolder()
    for (source, name) in [(astronaut, "cut.png"), (rocket, "cut.jpg")] {
      let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
      let cut = scratch.file(name)
      try bytes.prefix(bytes.count * 3 / 4).write(to: URL(fileURLWithPath: cut))
      let output = scratch.file("out-\(name).png")
      try Data("previous".utf8).write(to: URL(fileURLWithPath: output))
      let result = try ConvvizBinary.run(["filter", "-k", "edges", cut, "-o", output])
      XCTAssertEqual(result.status, 1, result.standardError)
      let whole = try ConvvizBinary.run(["filter", "-k", "edges", cut, "-o", "-"])
      XCTAssertEqual(whole.status, 1)
      XCTAssertEqual(result.standardError, whole.standardError)
      XCTAssertTrue(result.standardError.contains("truncated"), result.standardError)
      XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output)), Data("previous".utf8))
      let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
        .filter { $0.contains(".tmp-") }
      XCTAssertEqual(leftovers, [])
    }
  }
}
