import Foundation
import ImageCodecs
import ImageFilters
import XCTest

@testable import convviz

/// `convviz pool`: the library's pooling behind filter's conventions.
final class PoolCommandTests: XCTestCase {
  let camera = repositoryFile("samples/camera.png")
  let rocket = repositoryFile("samples/rocket.jpg")

  func testParsingAndRefusedOptions() throws {
    let pool = try PoolCommand.parse(["a.png"])
    XCTAssertEqual(pool.mode, .max)
    XCTAssertEqual(pool.size, 2)
    XCTAssertEqual(pool.poolOptions, PoolOptions(size: AxisPair(2)))
    XCTAssertEqual(pool.stepName, "pool-max-2")
    let named = try PoolCommand.parse([
      "--mode", "average", "--size", "3", "--stride", "2", "--padding", "same", "--gray", "a.png",
    ])
    XCTAssertEqual(named.stepName, "pool-average-3-stride2-same-gray")
    XCTAssertEqual(named.poolOptions.stride, AxisPair(2))
    for bad in [
      ["--size", "0"], ["--stride", "0"], ["--padding", "3"], ["--mode", "median"],
      ["--quality", "50"],
    ] {
      let result = try ConvvizBinary.run(["pool"] + bad + [camera, "-o", "/nonexistent/x/"])
      XCTAssertEqual(result.status, 64, "\(bad): \(result.standardError)")
      XCTAssertTrue(result.standardError.hasPrefix("convviz: error: "), result.standardError)
    }
  }

  /// The written file holds the library's pooling of the decoded input, for
  /// every mode, and the line gives the size from Padding's formula.
  func testOutputIsTheLibrarysPoolingOfTheInput() throws {
    let scratch = try ScratchFolder()
    let input = try ImageFile.read(camera)
    for mode in PoolMode.allCases {
      let out = scratch.file("\(mode).png")
      let result = try ConvvizBinary.run([
        "pool", "--mode", mode.rawValue, "--size", "3", "--stride", "2", camera, "-o", out,
      ])
      XCTAssertEqual(result.status, 0, result.standardError)
      XCTAssertEqual(
        result.standardOutput, "wrote \(out) (255×255, pool-\(mode.rawValue)-3-stride2)\n",
        "⌊(512−3)/2⌋+1 = 255")
      let expected = try ImageFilters.pool(
        input, mode: mode, options: PoolOptions(size: AxisPair(3), stride: AxisPair(2)))
      XCTAssertEqual(try ImageFile.read(out), expected)
    }
  }

  func testSixteenBitStaysSixteenBitAndAlphaIsPooled() throws {
    let scratch = try ScratchFolder()
    let samples: [UInt16] = (0..<(5 * 4 * 4)).map { UInt16($0 * 811 % 65536) }
    let image = Image(width: 5, height: 4, layout: .rgba, samples16: samples)
    try ImageFile.write(image, to: scratch.file("deep.png"))
    let result = try ConvvizBinary.run(
      [
        "pool", "--mode", "l2", "--padding", "same", scratch.file("deep.png"), "-o",
        scratch.file("o") + "/",
      ])
    XCTAssertEqual(result.status, 0, result.standardError)
    let written = try ImageFile.read(scratch.file("o/deep-pool-l2-2-same.png"))
    XCTAssertEqual(written.bitDepth, .sixteen)
    XCTAssertEqual([written.width, written.height], [3, 2])
    XCTAssertEqual(
      written,
      try poolReference(image, mode: .l2, options: PoolOptions(size: AxisPair(2), padding: .same)))
  }

  /// A folder gives its images, a bad one among them is one line naming it,
  /// the others are written, and the status is 1.
  func testFolderWithABadImageKeepsGoing() throws {
    let inputs = try ScratchFolder()
    try FileManager.default.copyItem(atPath: camera, toPath: inputs.file("a.png"))
    try Data("not an image".utf8).write(to: inputs.url.appendingPathComponent("b.png"))
    try FileManager.default.copyItem(atPath: rocket, toPath: inputs.file("c.jpg"))
    let out = try ScratchFolder()
    let result = try ConvvizBinary.run(["pool", inputs.path, "-o", out.path])
    XCTAssertEqual(result.status, 1)
    XCTAssertEqual(out.contents(), ["a-pool-max-2.png", "c-pool-max-2.png"])
    let errors = result.standardError.split(separator: "\n").filter { $0.contains("error") }
    XCTAssertEqual(errors.count, 2, result.standardError)
    XCTAssertTrue(
      errors[0].hasPrefix("convviz: error: \(inputs.file("b.png")): "), result.standardError)
    XCTAssertEqual(errors[1], "convviz: error: 1 of 3 inputs failed")
    // Into the input folder, twice: pool's own outputs are not pooled again.
    let first = try ConvvizBinary.run(["pool", inputs.file("a.png"), "-o", inputs.path + "/"])
    XCTAssertEqual(first.status, 0, first.standardError)
    let twice = try ConvvizBinary.run(["pool", "--mode", "average", inputs.path, "-o", out.path])
    XCTAssertTrue(
      twice.standardError.contains(
        "skipping \(inputs.file("a-pool-max-2.png")): written by convviz from a.png"),
      twice.standardError)
    XCTAssertEqual(
      twice.standardError.components(separatedBy: "error: ").count, 3, "b.png, summary")
  }

  func testWindowLargerThanTheImageAndMemoryBudget() throws {
    let out = try ScratchFolder()
    let large = try ConvvizBinary.run(["pool", "--size", "600", camera, "-o", out.path])
    XCTAssertEqual(large.status, 1)
    XCTAssertEqual(
      large.standardError,
      "convviz: error: \(camera): pooling window 600×600 is larger than the padded image "
        + "(512×512); hint: use --padding same or a smaller --size\n")
    let budget = try ConvvizBinary.run(["pool", camera, "--max-memory", "100K", "-o", out.path])
    XCTAssertEqual(budget.status, 1)
    XCTAssertTrue(
      budget.standardError.contains("more than the memory budget"), budget.standardError)
    XCTAssertEqual(out.contents(), [])
  }

  func testStandardOutputAndJPEG() throws {
    let result = try ConvvizBinary.run(["pool", "--size", "4", camera, "-o", "-"])
    XCTAssertEqual(result.status, 0, result.standardError)
    let decoded = try ImageFile.decode([UInt8](result.standardOutputBytes), name: "stdout")
    XCTAssertEqual([decoded.width, decoded.height], [128, 128])
    let scratch = try ScratchFolder()
    let jpeg = try ConvvizBinary.run(
      ["pool", "--quality", "70", rocket, "-o", scratch.file("r.jpg")])
    XCTAssertEqual(jpeg.status, 0, jpeg.standardError)
    XCTAssertEqual(
      ImageFormat.sniffed(try Data(contentsOf: scratch.url.appendingPathComponent("r.jpg"))), .jpeg)
  }
}
