import Foundation
import ImageCodecs
import XCTest

/// Every bad input of docs/robustness.md, through the built binary: one line
/// on stderr starting `convviz: error:`, exit status 1 (64 for a bad command
/// line), and no output file.
final class BadInputTests: XCTestCase {
  let camera = repositoryFile("samples/camera.png")
  let rocket = repositoryFile("samples/rocket.jpg")

  /// Runs `filter` on `input` into a fresh folder and checks the failure.
  func assertFilterFails(
    _ input: String, mentioning needle: String, extra: [String] = [], status: Int32 = 1,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let out = try ScratchFolder()
    let result = try ConvvizBinary.run(["filter"] + extra + [input, "-o", out.path])
    XCTAssertEqual(result.status, status, result.standardError, file: file, line: line)
    if status == 1 {
      let lines = result.standardError.split(separator: "\n")
      XCTAssertEqual(lines.count, 1, result.standardError, file: file, line: line)
      XCTAssertTrue(
        result.standardError.hasPrefix("convviz: error: "), result.standardError, file: file,
        line: line)
    }
    XCTAssertTrue(
      result.standardError.contains(needle), "expected '\(needle)' in: \(result.standardError)",
      file: file, line: line)
    XCTAssertEqual(out.contents(), [], "output left behind", file: file, line: line)
  }

  func testTruncatedAtEveryTenthOfTheLength() throws {
    let scratch = try ScratchFolder()
    let ppm = scratch.file("rocket.ppm")
    try ImageFile.write(try ImageFile.read(rocket), to: ppm)
    for source in [camera, rocket, ppm] {
      let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
      let ext = (source as NSString).pathExtension
      for tenth in 0..<10 {
        let path = scratch.file("cut\(tenth).\(ext)")
        try bytes.prefix(bytes.count * tenth / 10).write(to: URL(fileURLWithPath: path))
        try assertFilterFails(path, mentioning: "cut\(tenth).\(ext)")
      }
    }
  }

  func testBadChunkCRC() throws {
    let scratch = try ScratchFolder()
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: camera)))
    bytes[20] ^= 0x01  // inside IHDR's data; its CRC no longer matches
    let path = scratch.file("badcrc.png")
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    try assertFilterFails(path, mentioning: "badcrc.png")
  }

  func testZeroAndHugeDimensions() throws {
    let scratch = try ScratchFolder()
    let zero = scratch.file("zero.png")
    try Data(PNGHeader.bytes(width: 0, height: 10)).write(to: URL(fileURLWithPath: zero))
    try assertFilterFails(zero, mentioning: "zero.png")
    let huge = scratch.file("huge.png")
    try Data(PNGHeader.bytes(width: 20000, height: 20000)).write(to: URL(fileURLWithPath: huge))
    try assertFilterFails(huge, mentioning: "20000")
    // Raising the limit lets the header through; the missing pixel data is
    // then the error, and nothing near 400 megapixels was allocated up front.
    try assertFilterFails(
      tinyLimitVictim(scratch), mentioning: "limit", extra: ["--max-pixels", "100"])
  }

  private func tinyLimitVictim(_ scratch: ScratchFolder) throws -> String {
    let path = scratch.file("small.png")
    try FileManager.default.copyItem(atPath: camera, toPath: path)
    return path
  }

  func testDirectoryAndMissingFile() throws {
    let scratch = try ScratchFolder()
    let folder = scratch.file("folder.png")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try assertFilterFails(folder, mentioning: "folder.png")
    try assertFilterFails(scratch.file("absent.png"), mentioning: "absent.png")
  }

  func testGarbageAndEmptyFiles() throws {
    let scratch = try ScratchFolder()
    let garbage = scratch.file("garbage.jpg")
    try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) })
      .write(to: URL(fileURLWithPath: garbage))
    try assertFilterFails(garbage, mentioning: "garbage.jpg")
    let empty = scratch.file("empty.png")
    XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
    try assertFilterFails(empty, mentioning: "empty.png")
  }

  func testUnwritableOutputFolder() throws {
    let scratch = try ScratchFolder()
    let blocker = scratch.file("not-a-folder")
    XCTAssertTrue(FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8)))
    let result = try ConvvizBinary.run(["filter", camera, "-o", blocker + "/out/"])
    XCTAssertEqual(result.status, 1, result.standardError)
    XCTAssertTrue(result.standardError.contains("not-a-folder"), result.standardError)
    let single = try ConvvizBinary.run(["filter", camera, "-o", blocker + "/x.png"])
    XCTAssertEqual(single.status, 1, single.standardError)
    XCTAssertEqual(single.standardError.split(separator: "\n").count, 1, single.standardError)
  }

  /// A full disk: a 64 KiB tmpfs cannot hold the 512×512 output. Needs root
  /// (and a system that allows mounting); skipped otherwise.
  func testFullDiskLeavesNoPartialFile() throws {
    guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
    let scratch = try ScratchFolder()
    let mountPoint = scratch.file("small-disk")
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
    guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint]) == 0 else {
      throw XCTSkip("cannot mount a tmpfs here")
    }
    defer { _ = run("/bin/umount", [mountPoint]) }
    let result = try ConvvizBinary.run([
      "filter", "-k", "identity", "--padding", "same", rocket, "-o", mountPoint + "/out.png",
    ])
    XCTAssertEqual(result.status, 1, result.standardError)
    XCTAssertTrue(result.standardError.contains("out.png"), result.standardError)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mountPoint), [])
  }

  func testKernelProblems() throws {
    try assertFilterFails(camera, mentioning: "abc", extra: ["-k", "1,abc,1"])
    try assertFilterFails(camera, mentioning: "stride", extra: ["--stride", "0"], status: 64)
    let scratch = try ScratchFolder()
    let tiny = scratch.file("tiny.png")
    try ImageFile.write(Image(width: 2, height: 2, layout: .gray, samples: [0, 1, 2, 3]), to: tiny)
    try assertFilterFails(tiny, mentioning: "tiny.png", extra: ["-k", "blur"])
  }

  private func run(_ tool: String, _ arguments: [String]) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return -1 }
    process.waitUntilExit()
    return process.terminationStatus
  }
}

/// A PNG declaring any size, with valid CRCs but almost no pixel data (a
/// tiny IDAT and IEND), like a decompression bomb's header.
enum PNGHeader {
  static func bytes(width: UInt32, height: UInt32) -> [UInt8] {
    var ihdr: [UInt8] = []
    for value in [width, height] { ihdr += bigEndian(value) }
    ihdr += [8, 0, 0, 0, 0]  // 8-bit gray, deflate, no filter, no interlace
    let emptyZlib: [UInt8] = [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr)
      + chunk("IDAT", emptyZlib) + chunk("IEND", [])
  }

  static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let body = Array(type.utf8) + data
    return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
  }

  static func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
  }

  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
  }
}

/// Bad model files and data sets, through `summary` and `train`.
final class BadModelAndDataTests: XCTestCase {
  func assertOneLineFailure(
    _ arguments: [String], mentioning needle: String, file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    let result = try ConvvizBinary.run(arguments)
    XCTAssertEqual(result.status, 1, result.standardError, file: file, line: line)
    XCTAssertEqual(
      result.standardError.split(separator: "\n").count, 1, result.standardError, file: file,
      line: line)
    XCTAssertTrue(
      result.standardError.contains(needle), result.standardError, file: file, line: line)
  }

  func testModelFileWithAFlippedByteOrCutShort() throws {
    let scratch = try ScratchFolder()
    let good = [UInt8](
      try Data(
        contentsOf: repositoryRoot.appendingPathComponent("Fuzz/corpus/model-file/tiny-conv.bin")))
    XCTAssertEqual(
      try ConvvizBinary.run(["summary", writeFile(good, scratch.file("good.bin"))]).status, 0)
    for offset in [9, good.count / 2, good.count - 1] {
      var flipped = good
      flipped[offset] ^= 0x20
      try assertOneLineFailure(
        ["summary", writeFile(flipped, scratch.file("flipped.bin"))], mentioning: "flipped.bin")
    }
    try assertOneLineFailure(
      ["summary", writeFile(Array(good.prefix(good.count - 7)), scratch.file("short.bin"))],
      mentioning: "short.bin")
  }

  func testIDXCountMismatchAndEmptyClassFolder() throws {
    let scratch = try ScratchFolder()
    let mnist = scratch.file("mnist")
    try FileManager.default.createDirectory(atPath: mnist, withIntermediateDirectories: true)
    // Header says 3 images of 2×2, the file holds 2.
    let images: [UInt8] =
      [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2] + [UInt8](repeating: 7, count: 8)
    let labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]
    _ = try writeFile(images, mnist + "/train-images-idx3-ubyte")
    _ = try writeFile(labels, mnist + "/train-labels-idx1-ubyte")
    try assertOneLineFailure(
      [
        "train", "--model", "mnist-mlp", "--data", mnist, "--epochs", "1", "-o",
        scratch.file("m.bin"),
      ],
      mentioning: "train-images-idx3-ubyte")

    let folder = scratch.file("classes")
    try FileManager.default.createDirectory(
      atPath: folder + "/cats", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      atPath: folder + "/dogs", withIntermediateDirectories: true)
    try ImageFile.write(
      Image(width: 28, height: 28, layout: .gray, samples: [UInt8](repeating: 9, count: 784)),
      to: folder + "/cats/a.png")
    try assertOneLineFailure(
      [
        "train", "--model", "mnist-mlp", "--data", folder, "--epochs", "1", "-o",
        scratch.file("m.bin"),
      ],
      mentioning: "dogs")
    XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("m.bin")))
  }

  private func writeFile(_ bytes: [UInt8], _ path: String) throws -> String {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }
}
