import Foundation
import ImageCodecs
import XCTest

@testable import convviz

/// `--from-list`, `--shard`, `--keep-going`/`--fail-fast` and the summary
/// line, shared by `filter` and `pool`.
final class BatchOptionsTests: XCTestCase {
  let camera = repositoryFile("samples/camera.png")

  func testListEntries() {
    XCTAssertEqual(
      InputList.entries(of: "a.png\n\n  \t\r\nb c.png\r\nmnist:x.gz#3\n\n d.png \n"),
      ["a.png", "b c.png", "mnist:x.gz#3", " d.png "])
    XCTAssertEqual(InputList.entries(of: ""), [])
  }

  func testShardParsing() throws {
    XCTAssertEqual(try Shard.parse("1/1"), Shard(number: 1, count: 1))
    XCTAssertEqual(try Shard.parse("3/4"), Shard(number: 3, count: 4))
    for bad in ["0/0", "3/2", "0/3", "1/0", "-1/2", "a/b", "1", "1/2/3", "", "/", "1/"] {
      XCTAssertThrowsError(try Shard.parse(bad), bad)
    }
    for bad in ["0/0", "3/2", "text"] {
      let result = try ConvvizBinary.run(["pool", "--shard", bad, camera])
      XCTAssertEqual(result.status, 64, result.standardError)
      XCTAssertTrue(
        result.standardError.hasPrefix(
          "convviz: error: The value '\(bad)' is invalid for '--shard"),
        result.standardError)
    }
    let none = try ConvvizBinary.run(["filter"])
    XCTAssertEqual(none.status, 64)
    XCTAssertTrue(none.standardError.contains("or --from-list"), none.standardError)
  }

  /// Every position is in exactly one part, in order, and parts differ in
  /// size by at most one.
  func testShardsPartitionTheList() {
    for count in 1...6 {
      for total in 0...20 {
        let parts = (1...count).map {
          Array(Shard(number: $0, count: count).positions(among: total))
        }
        XCTAssertEqual(parts.joined().sorted(), Array(0..<total), "\(total) in \(count)")
        for part in parts { XCTAssertEqual(part, part.sorted()) }
        let sizes = parts.map(\.count)
        XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
      }
    }
  }

  /// Small copies of a sample, so the runs are quick.
  private func smallImages(_ count: Int, in folder: ScratchFolder) throws -> [String] {
    let small = try corner(of: camera)
    return try (0..<count).map { i in
      let path = folder.file("img\(i).png")
      try ImageFile.write(small, to: path)
      return path
    }
  }

  /// The top-left 24×24 gray corner of an 8-bit gray image.
  private func corner(of path: String) throws -> Image {
    let image = try ImageFile.read(path)
    let side = 24
    var samples: [UInt8] = []
    for y in 0..<side { for x in 0..<side { samples.append(image.samples8[y * 512 + x]) } }
    return Image(width: side, height: side, layout: .gray, samples: samples)
  }

  private func writeList(_ lines: [String], in folder: ScratchFolder) throws -> String {
    let path = folder.file("list.txt")
    try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// The shards' outputs together are exactly the unsharded run's, by name
  /// and content, each written once; duplicate stems are numbered the same
  /// in every shard.
  func testShardsTogetherWriteWhatOneRunWrites() throws {
    let inputs = try ScratchFolder()
    var images = try smallImages(6, in: inputs)
    try FileManager.default.createDirectory(
      atPath: inputs.file("other"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: images[0], toPath: inputs.file("other/img0.png"))
    images.append(inputs.file("other/img0.png"))
    let list = try writeList(images, in: inputs)
    let whole = try ScratchFolder()
    let one = try ConvvizBinary.run(["pool", "--from-list", list, "-o", whole.path])
    XCTAssertEqual(one.status, 0, one.standardError)
    XCTAssertEqual(one.standardOutput.split(separator: "\n").count, 7)
    let sharded = try ScratchFolder()
    var written: [String] = []
    for k in 1...3 {
      let run = try ConvvizBinary.run([
        "pool", "--from-list", list, "--shard", "\(k)/3", "-o", sharded.path,
      ])
      XCTAssertEqual(run.status, 0, run.standardError)
      written += run.standardOutput.split(separator: "\n").map(String.init)
      XCTAssertTrue(
        run.standardError.contains("pool shard \(k)/3: \(k == 1 ? 3 : 2) of 7 inputs in "),
        run.standardError)
    }
    XCTAssertEqual(written.count, 7, "each output written by exactly one shard")
    XCTAssertEqual(sharded.contents(), whole.contents())
    XCTAssertTrue(whole.contents().contains("img0-1-pool-max-2.png"), "\(whole.contents())")
    for name in whole.contents() {
      XCTAssertEqual(
        try Data(contentsOf: whole.url.appendingPathComponent(name)),
        try Data(contentsOf: sharded.url.appendingPathComponent(name)), name)
    }
    // More shards than inputs: an empty part is not an error.
    let empty = try ConvvizBinary.run([
      "pool", images[0], "--shard", "2/2", "-o", sharded.path,
    ])
    XCTAssertEqual(empty.status, 0, empty.standardError)
    XCTAssertEqual(empty.standardOutput, "")
    XCTAssertTrue(empty.standardError.contains("0 of 1 input in"), empty.standardError)
  }

  /// A missing listed file is that input's error; blank lines are skipped;
  /// stdin works as `-`.
  func testFromListFileAndStandardInput() throws {
    let inputs = try ScratchFolder()
    let images = try smallImages(2, in: inputs)
    let list = try writeList(
      [images[0], "", "   ", inputs.file("missing.png"), images[1], ""], in: inputs)
    let out = try ScratchFolder()
    let result = try ConvvizBinary.run([
      "filter", "-k", "blur", "--from-list", list, "-o", out.path,
    ])
    XCTAssertEqual(result.status, 1)
    XCTAssertEqual(out.contents(), ["img0-blur.png", "img1-blur.png"])
    XCTAssertTrue(
      result.standardError.contains("convviz: error: \(inputs.file("missing.png")): no such file"),
      result.standardError)
    XCTAssertTrue(
      result.standardError.contains("filter: 3 inputs in "), result.standardError)
    XCTAssertTrue(result.standardError.hasSuffix("convviz: error: 1 of 3 inputs failed\n"))

    let piped = try ScratchFolder()
    let process = Process()
    process.executableURL = ConvvizBinary.url
    process.arguments = ["pool", "--from-list", "-", camera, "-o", piped.path]
    process.standardInput = FileHandle(forReadingAtPath: list)
    process.standardError = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 1)
    XCTAssertEqual(
      piped.contents(), ["camera-pool-max-2.png", "img0-pool-max-2.png", "img1-pool-max-2.png"])

    let noList = try ConvvizBinary.run(["pool", "--from-list", inputs.file("nope.txt")])
    XCTAssertEqual(noList.status, 1)
    XCTAssertTrue(noList.standardError.hasPrefix("convviz: error: "), noList.standardError)
    XCTAssertTrue(noList.standardError.contains("nope.txt"), noList.standardError)
  }

  /// By default every input is tried; --fail-fast starts none after the
  /// first failure.
  func testKeepGoingAndFailFast() throws {
    let inputs = try ScratchFolder()
    let images = try smallImages(8, in: inputs)
    let list = try writeList([inputs.file("missing.png")] + images, in: inputs)
    let all = try ScratchFolder()
    let keepGoing = try ConvvizBinary.run(["pool", "--from-list", list, "-o", all.path])
    XCTAssertEqual(keepGoing.status, 1)
    XCTAssertEqual(all.contents().count, 8)
    let explicit = try ConvvizBinary.run(
      ["pool", "--keep-going", "--from-list", list, "-o", all.path])
    XCTAssertEqual(explicit.status, 1)

    let stopped = try ScratchFolder()
    let failFast = try ConvvizBinary.run([
      "pool", "--fail-fast", "--from-list", list, "-o", stopped.path,
    ])
    XCTAssertEqual(failFast.status, 1)
    // Only inputs already running when the first one failed are finished.
    XCTAssertLessThanOrEqual(
      stopped.contents().count, ProcessInfo.processInfo.activeProcessorCount, failFast.standardError
    )
    XCTAssertTrue(
      failFast.standardError.contains("stopped at the first failed input (--fail-fast); "),
      failFast.standardError)
    XCTAssertEqual(
      failFast.standardError.components(separatedBy: "convviz: error: ").count, 3,
      "the input's error and the stop: \(failFast.standardError)")
    let conflicting = try ConvvizBinary.run(["pool", "--fail-fast", "--keep-going", camera])
    XCTAssertEqual(conflicting.status, 64)
  }
}

/// `--png-compression`: every level decodes to the same pixels; higher
/// levels give smaller files on a photo.
final class PNGCompressionOptionTests: XCTestCase {
  let camera = repositoryFile("samples/camera.png")

  func testLevelsChangeSizeNotPixels() throws {
    let scratch = try ScratchFolder()
    var sizes: [Int: Int] = [:]
    var decoded: [Int: Image] = [:]
    for level in [0, 1, 2, 6, 9] {
      let out = scratch.file("l\(level).png")
      let result = try ConvvizBinary.run([
        "filter", "-k", "blur", "--png-compression", "\(level)", camera, "-o", out,
      ])
      XCTAssertEqual(result.status, 0, result.standardError)
      sizes[level] = try Data(contentsOf: URL(fileURLWithPath: out)).count
      decoded[level] = try ImageFile.read(out)
    }
    let byDefault = scratch.file("default.png")
    XCTAssertEqual(
      try ConvvizBinary.run(["filter", "-k", "blur", camera, "-o", byDefault]).status, 0)
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: byDefault)).count, sizes[2], "default 2")
    for level in [1, 2, 6, 9] { XCTAssertEqual(decoded[level], decoded[0], "level \(level)") }
    XCTAssertGreaterThan(sizes[0]!, sizes[1]!, "\(sizes)")
    XCTAssertGreaterThan(sizes[1]!, sizes[6]!, "\(sizes)")
    XCTAssertGreaterThanOrEqual(sizes[6]!, sizes[9]!, "\(sizes)")
    XCTAssertGreaterThan(sizes[0]!, 510 * 510, "stored: at least the 510×510 samples")

    let pooled = try ConvvizBinary.run([
      "pool", "--png-compression", "0", camera, "-o", scratch.file("p.png"),
    ])
    XCTAssertEqual(pooled.status, 0, pooled.standardError)
    XCTAssertGreaterThan(
      try Data(contentsOf: URL(fileURLWithPath: scratch.file("p.png"))).count, 256 * 256)
  }

  func testRefusals() throws {
    for bad in [
      ["--png-compression", "10"], ["--png-compression", "-1"],
      ["--png-compression", "3", "--format", "jpeg"],
    ] {
      let result = try ConvvizBinary.run(["pool"] + bad + [camera, "-o", "/nonexistent/"])
      XCTAssertEqual(result.status, 64, "\(bad): \(result.standardError)")
    }
    let named = try ConvvizBinary.run(["filter", "--png-compression", "3", camera, "-o", "x.jpg"])
    XCTAssertEqual(named.status, 64)
    XCTAssertTrue(named.standardError.contains("--png-compression applies to PNG outputs"))
  }
}
