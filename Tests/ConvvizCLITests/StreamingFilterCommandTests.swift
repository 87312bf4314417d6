import Foundation
import XCTest

/// `convviz filter` and `pool` on their streaming path: chosen automatically, the same
/// bytes as the whole-image path (which `CONVVIZ_STREAMING=0` forces), also
/// through `-o -`, `--timings` saying which ran and why, and a damaged input
/// refused as before with the destination left as it was.
final class StreamingFilterCommandTests: XCTestCase {
  let wholeImage = ["CONVVIZ_STREAMING": "0"]
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
      let stdoutArguments =
        ["filter", input, "-o", "-", "--format", format == "jpg" ? "jpeg" : "png", "--timings"]
        + options
      let whole = try ConvvizBinary.run(stdoutArguments, environment: wholeImage)
      XCTAssertEqual(whole.status, 0, whole.standardError)
      XCTAssertTrue(
        whole.standardError.contains("timing path whole-image: CONVVIZ_STREAMING=0"),
        whole.standardError)
      let bytes = try Data(contentsOf: URL(fileURLWithPath: output))
      XCTAssertEqual(bytes, whole.standardOutputBytes, "\(input) \(options)")
      // Standard output streams too, with the same bytes.
      let piped = try ConvvizBinary.run(stdoutArguments)
      XCTAssertEqual(piped.status, 0, piped.standardError)
      XCTAssertTrue(piped.standardError.contains("timing path streaming"), piped.standardError)
      XCTAssertTrue(piped.standardError.contains("wrote standard output"), piped.standardError)
      XCTAssertEqual(bytes, piped.standardOutputBytes, "\(input) \(options) -o -")
    }
  }

  /// A batch on the whole-image path reuses the sample arrays of finished
  /// images for the next of the same size (SampleBuffers): every output is
  /// byte for byte the output of the file filtered alone, with sizes that
  /// repeat and sizes that change within the batch.
  func testBatchOutputsMatchSingleRunsWithReusedBuffers() throws {
    let scratch = try ScratchFolder()
    let inputs = scratch.file("in")
    try FileManager.default.createDirectory(atPath: inputs, withIntermediateDirectories: true)
    // Sorted names: big, big, small, big, big, 16-bit, 16-bit, big.
    let astronautImage = try Data(contentsOf: URL(fileURLWithPath: astronaut))
    let rocketImage = try Data(contentsOf: URL(fileURLWithPath: rocket))
    let deep = try Data(
      contentsOf: URL(
        fileURLWithPath: repositoryFile("Tests/ImageCodecsTests/Fixtures/pngsuite/basn2c16.png")))
    for (name, data) in [
      ("a1.png", astronautImage), ("a2.png", astronautImage), ("b.jpg", rocketImage),
      ("c1.png", astronautImage), ("c2.png", astronautImage), ("d1.png", deep),
      ("d2.png", deep), ("e.png", astronautImage),
    ] {
      try data.write(to: URL(fileURLWithPath: inputs + "/" + name))
    }
    for command in [["filter", "-k", "sobel"], ["pool", "--mode", "max", "--size", "2"]] {
      let batch = scratch.file("batch-\(command[0])")
      let result = try ConvvizBinary.run(
        command + [inputs, "-o", batch + "/"], environment: wholeImage)
      XCTAssertEqual(result.status, 0, result.standardError)
      let written = try FileManager.default.contentsOfDirectory(atPath: batch).sorted()
      XCTAssertEqual(written.count, 8, "\(written)")
      for name in written {
        let stem = String(name.prefix(2).filter { $0.isLetter || $0.isNumber })
        let input = try FileManager.default.contentsOfDirectory(atPath: inputs)
          .first { $0.hasPrefix(stem + ".") }!
        let alone = try ConvvizBinary.run(
          command + [inputs + "/" + input, "-o", scratch.file("alone.png")],
          environment: wholeImage)
        XCTAssertEqual(alone.status, 0, alone.standardError)
        XCTAssertEqual(
          try Data(contentsOf: URL(fileURLWithPath: batch + "/" + name)),
          try Data(contentsOf: URL(fileURLWithPath: scratch.file("alone.png"))),
          "\(command) \(name)")
      }
    }
  }

  func testTimingsNameThePathAndWhyTheWholeImageIsNeeded() throws {
    let scratch = try ScratchFolder()
    for (input, reason) in [
      (repositoryFile("Tests/ImageCodecsTests/Fixtures/pngsuite/basi2c08.png"), "interlaced PNG"),
      (
        repositoryFile("Tests/ImageCodecsTests/Fixtures/jpeg/orientation-6-le.jpg"),
        "EXIF orientation 6 turns the picture"
      ),
    ] {
      let result = try ConvvizBinary.run(
        ["filter", "-k", "edges", "--timings", input, "-o", scratch.file("n.png")])
      XCTAssertEqual(result.status, 0, result.standardError)
      XCTAssertTrue(
        result.standardError.contains("timing path whole-image: \(reason)"), result.standardError)
    }
    let streamed = try ConvvizBinary.run(
      ["filter", "-k", "edges", "--timings", astronaut, "-o", scratch.file("s.png")])
    for stage in ["decode", "filter", "encode", "write", "total"] {
      XCTAssertNotNil(
        streamed.standardError.range(
          of: "timing \(stage) [0-9.]+ ms", options: .regularExpression),
        streamed.standardError)
    }
  }

  /// `--range normalize` streams in two passes (the first finds the
  /// result's range) and `pool` streams too; both write the whole-image
  /// path's bytes, 8- and 16-bit.
  func testNormalizeAndPoolStreamWithTheWholeImagePathsBytes() throws {
    let scratch = try ScratchFolder()
    let sixteen = repositoryFile("Tests/ImageCodecsTests/Fixtures/pngsuite/basn2c16.png")
    for (input, format, arguments, path) in [
      (astronaut, "png", ["filter", "-k", "edges", "--range", "normalize"], "two passes"),
      (rocket, "jpg", ["filter", "-k", "sobel", "--range", "normalize", "--gray"], "two passes"),
      (sixteen, "png", ["filter", "-k", "emboss", "--range", "normalize"], "two passes"),
      (astronaut, "jpg", ["pool", "--mode", "average", "--size", "3"], "streaming"),
      (rocket, "png", ["pool", "--mode", "l2", "--size", "2", "--padding", "same"], "streaming"),
      (sixteen, "png", ["pool", "--mode", "max", "--size", "3", "--stride", "2"], "streaming"),
    ] {
      let output = scratch.file("out.\(format)")
      let streamed = try ConvvizBinary.run(arguments + [input, "-o", output, "--timings"])
      XCTAssertEqual(streamed.status, 0, streamed.standardError)
      XCTAssertTrue(
        streamed.standardError.contains("timing path streaming"), streamed.standardError)
      XCTAssertTrue(streamed.standardError.contains(path), streamed.standardError)
      let whole = try ConvvizBinary.run(
        arguments + [input, "-o", "-", "--format", format == "jpg" ? "jpeg" : "png"],
        environment: wholeImage)
      XCTAssertEqual(whole.status, 0, whole.standardError)
      let bytes = try Data(contentsOf: URL(fileURLWithPath: output))
      XCTAssertEqual(bytes, whole.standardOutputBytes, "\(input) \(arguments)")
    }
  }

  /// A file cut after its first rows: the streaming path has encoded some
  /// rows when the decoder runs out; the error is the whole-image path's,
  /// the destination keeps its old bytes and no temporary file is left.
  func testTruncatedInputLeavesTheDestinationAsItWas() throws {
    let scratch = try ScratchFolder()
    let commands = [
      ["filter", "-k", "edges"], ["filter", "-k", "edges", "--range", "normalize"],
      ["pool", "--size", "2"],
    ]
    // To JPEG, the encoder writes as the rows come: it is mid-image on
    // another thread when the decoder runs out.
    for (source, name, format) in [
      (astronaut, "cut.png", "png"), (rocket, "cut.jpg", "png"), (rocket, "cut.jpg", "jpg"),
      (astronaut, "cut.png", "jpg"),
    ] {
      for command in commands {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let cut = scratch.file(name)
        try bytes.prefix(bytes.count * 3 / 4).write(to: URL(fileURLWithPath: cut))
        let output = scratch.file("out-\(name).\(format)")
        try Data("previous".utf8).write(to: URL(fileURLWithPath: output))
        let result = try ConvvizBinary.run(command + [cut, "-o", output])
        XCTAssertEqual(result.status, 1, result.standardError)
        let toStandardOutput = [cut, "-o", "-", "--format", format == "jpg" ? "jpeg" : "png"]
        let whole = try ConvvizBinary.run(command + toStandardOutput, environment: wholeImage)
        XCTAssertEqual(whole.status, 1)
        XCTAssertEqual(result.standardError, whole.standardError)
        // Streaming to standard output: the same error, and nothing written.
        let piped = try ConvvizBinary.run(command + toStandardOutput)
        XCTAssertEqual(piped.status, 1)
        XCTAssertEqual(piped.standardError, whole.standardError)
        XCTAssertEqual(piped.standardOutputBytes, Data())
        XCTAssertTrue(result.standardError.contains("truncated"), result.standardError)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output)), Data("previous".utf8))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
          .filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
      }
    }
  }
}
