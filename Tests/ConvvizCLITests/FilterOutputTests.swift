import Foundation
import ImageCodecs
import XCTest

/// `filter`'s outputs follow the one `-o` rule: a file when one image is
/// written, a folder when several; contradictions and collisions are
/// refused before anything is written.
final class FilterOutputTests: XCTestCase {
  let camera = repositoryFile("samples/camera.png")
  let rocket = repositoryFile("samples/rocket.jpg")

  /// Runs `arguments` in `scratch` and expects a refusal: status 64, first
  /// line `convviz: error:` mentioning `needle`, and nothing written.
  func assertRefused(
    _ arguments: [String], in scratch: ScratchFolder, mentioning needle: String,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let before = scratch.contents()
    let result = try ConvvizBinary.run(arguments, in: scratch.url)
    XCTAssertEqual(result.status, 64, result.standardError, file: file, line: line)
    XCTAssertTrue(
      result.standardError.hasPrefix("convviz: error: "), result.standardError, file: file,
      line: line)
    XCTAssertTrue(
      result.standardError.contains(needle), result.standardError, file: file, line: line)
    XCTAssertEqual(scratch.contents(), before, "nothing written", file: file, line: line)
  }

  /// Regression: `-o two.png` with two kernels made a folder named two.png.
  func testAFileNameForSeveralImagesIsRefused() throws {
    let scratch = try ScratchFolder()
    try assertRefused(
      ["filter", "-k", "blur", "-k", "edges", camera, "-o", "two.png"], in: scratch,
      mentioning: "this run writes 2 images")
  }

  /// Regression: `--format jpeg -o x.png` silently wrote PNG, and
  /// `--quality` was ignored for PNG outputs.
  func testFormatExtensionAndQualityMustAgree() throws {
    let scratch = try ScratchFolder()
    try assertRefused(
      ["filter", "--format", "jpeg", camera, "-o", "x.png"], in: scratch,
      mentioning: "--format jpeg contradicts -o x.png")
    try assertRefused(
      ["filter", "--quality", "50", camera, "-o", "x.png"], in: scratch,
      mentioning: "--quality applies to JPEG outputs")
    try assertRefused(
      ["filter", "--quality", "50", "-k", "blur", "-k", "edges", camera, "-o", "pngs"],
      in: scratch, mentioning: "--quality")
    try assertRefused(
      ["filter", "-k", "blur", camera, "-o", "noextension"], in: scratch,
      mentioning: "end it in .png, .jpg, .jpeg, .ppm, .pgm or .pnm, or end it with /")

    let jpeg = try ConvvizBinary.run(
      ["filter", "--format", "jpeg", "--quality", "40", "-k", "blur", camera, "-o", "qj/"],
      in: scratch.url)
    XCTAssertEqual(jpeg.status, 0, jpeg.standardError)
    XCTAssertEqual(scratch.contents("qj"), ["camera-blur.jpg"])
    let bytes = try Data(contentsOf: scratch.url.appendingPathComponent("qj/camera-blur.jpg"))
    XCTAssertEqual(ImageFormat.sniffed(bytes), .jpeg)
  }

  /// Regression: `-o` into a missing folder failed for a single file.
  func testMissingFoldersAreCreatedForFilesAndFolders() throws {
    let scratch = try ScratchFolder()
    let single = try ConvvizBinary.run(
      ["filter", "-k", "blur", camera, "-o", "a/b/one.png"], in: scratch.url)
    XCTAssertEqual(single.status, 0, single.standardError)
    XCTAssertEqual(scratch.contents("a/b"), ["one.png"])
    let several = try ConvvizBinary.run(
      ["filter", "-k", "blur", "-k", "edges", camera, "-o", "c/d"], in: scratch.url)
    XCTAssertEqual(several.status, 0, several.standardError)
    XCTAssertEqual(scratch.contents("c/d"), ["camera-blur.png", "camera-edges.png"])
  }

  /// Variants of one kernel (stride, sigma, size, inline matrices) get
  /// different names, so a second run never overwrites the first.
  func testNamesCarryWhatDistinguishesTheOutputs() throws {
    let scratch = try ScratchFolder()
    for options in [
      ["-k", "gaussian"], ["-k", "gaussian", "--sigma", "2.5"], ["-k", "gaussian", "--size", "5"],
      ["-k", "blur", "--stride", "2"], ["-k", "blur", "--stride-x", "2", "--stride-y", "3"],
      ["-k", "1,0,-1;2,0,-2;1,0,-1"], ["-k", "1,0,1;2,0,2;1,0,1"],
      ["-k", "blur", "--padding", "same", "--border", "reflect", "--range", "abs"],
    ] {
      let result = try ConvvizBinary.run(
        ["filter"] + options + [camera, "-o", "out/"], in: scratch.url)
      XCTAssertEqual(result.status, 0, "\(options): \(result.standardError)")
    }
    XCTAssertEqual(
      scratch.contents("out"),
      [
        "camera-blur-same-reflect-abs.png", "camera-blur-stride2.png", "camera-blur-stride2x3.png",
        "camera-gaussian-sigma2.5.png", "camera-gaussian-size5.png", "camera-gaussian.png",
        "camera-kernel-1,0,-1_2,0,-2_1,0,-1.png", "camera-kernel-1,0,1_2,0,2_1,0,1.png",
      ])
  }

  /// A long inline kernel keeps a short name that still tells it apart.
  func testLongInlineKernelsGetAShortDistinctName() throws {
    let scratch = try ScratchFolder()
    let ones = Array(repeating: "1", count: 25).joined(separator: ",")
    let twos = Array(repeating: "1", count: 24).joined(separator: ",") + ",2"
    for kernel in [ones, twos] {
      let result = try ConvvizBinary.run(
        ["filter", "-k", kernel, "--range", "normalize", camera, "-o", "out/"], in: scratch.url)
      XCTAssertEqual(result.status, 0, result.standardError)
    }
    let names = scratch.contents("out")
    XCTAssertEqual(names.count, 2, "\(names)")
    XCTAssertTrue(
      names.allSatisfy { $0.count < 80 && $0.hasPrefix("camera-kernel-25x1-") }, "\(names)")
  }

  func testAnOutputThatWouldReplaceAnInputIsRefused() throws {
    let scratch = try ScratchFolder()
    let photo = scratch.file("photo.png")
    try FileManager.default.copyItem(atPath: camera, toPath: photo)
    let original = try Data(contentsOf: URL(fileURLWithPath: photo))
    try assertRefused(
      ["filter", "-k", "identity", "photo.png", "-o", "photo.png"], in: scratch,
      mentioning: "--overwrite-input")
    try assertRefused(
      ["filter", "-k", "identity", "photo.png", "-o", "./sub/../photo.png"], in: scratch,
      mentioning: "would replace the input")
    try FileManager.default.linkItem(atPath: photo, toPath: scratch.file("link.png"))
    try assertRefused(
      ["filter", "-k", "identity", "photo.png", "-o", "link.png"], in: scratch,
      mentioning: "would replace the input")
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: photo)), original)

    let allowed = try ConvvizBinary.run(
      ["filter", "-k", "blur", "--overwrite-input", "photo.png", "-o", "photo.png"],
      in: scratch.url)
    XCTAssertEqual(allowed.status, 0, allowed.standardError)
    XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: photo)), original)
  }

  /// Regression: a second run over a folder that holds the first run's
  /// outputs filtered them again (camera-blur-blur.png).
  func testOutputsInTheInputFolderAreNotReadAgain() throws {
    let scratch = try ScratchFolder()
    try FileManager.default.createDirectory(
      at: scratch.url.appendingPathComponent("photos"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: camera, toPath: scratch.file("photos/camera.png"))
    for _ in 0..<2 {
      let result = try ConvvizBinary.run(
        ["filter", "-k", "blur", "photos", "-o", "photos"], in: scratch.url)
      XCTAssertEqual(result.status, 0, result.standardError)
    }
    let again = try ConvvizBinary.run(
      ["filter", "-k", "edges", "photos", "-o", "photos"], in: scratch.url)
    XCTAssertEqual(again.status, 0, again.standardError)
    XCTAssertTrue(
      again.standardError.contains("skipping photos/camera-blur.png: written by convviz"),
      again.standardError)
    XCTAssertEqual(
      scratch.contents("photos"), ["camera-blur.png", "camera-edges.png", "camera.png"])
  }

  /// Regression: subfolders were skipped without a word.
  func testSubfoldersAreNotedOrReadWithRecursive() throws {
    let scratch = try ScratchFolder()
    let sub = scratch.url.appendingPathComponent("in/sub")
    try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: camera, toPath: scratch.file("in/camera.png"))
    try FileManager.default.copyItem(atPath: camera, toPath: scratch.file("in/sub/camera.png"))
    let flat = try ConvvizBinary.run(["filter", "-k", "blur", "in", "-o", "flat"], in: scratch.url)
    XCTAssertEqual(flat.status, 0, flat.standardError)
    XCTAssertTrue(
      flat.standardError.contains("skipping folder in/sub (--recursive"), flat.standardError)
    XCTAssertEqual(scratch.contents("flat"), ["camera-blur.png"])

    let deep = try ConvvizBinary.run(
      ["filter", "-k", "blur", "--recursive", "in", "-o", "deep"], in: scratch.url)
    XCTAssertEqual(deep.status, 0, deep.standardError)
    XCTAssertEqual(scratch.contents("deep"), ["camera-blur.png", "sub"])
    XCTAssertEqual(scratch.contents("deep/sub"), ["camera-blur.png"])
  }

  /// Regression: lines came out in a different order on every run.
  func testLinesAreInInputOrderEveryRun() throws {
    let scratch = try ScratchFolder()
    let names = (0..<8).map { "p\($0).png" }
    try FileManager.default.createDirectory(
      at: scratch.url.appendingPathComponent("in"), withIntermediateDirectories: true)
    for name in names {
      try FileManager.default.copyItem(atPath: camera, toPath: scratch.file("in/" + name))
    }
    var outputs: [String] = []
    for _ in 0..<3 {
      let result = try ConvvizBinary.run(
        ["filter", "-k", "blur", "-k", "edges", "in", "-o", "out"], in: scratch.url)
      XCTAssertEqual(result.status, 0, result.standardError)
      outputs.append(result.standardOutput)
    }
    let expected = names.flatMap { name in
      ["blur", "edges"].map { "wrote out/\(name.dropLast(4))-\($0).png (510×510, \($0))" }
    }
    XCTAssertEqual(outputs[0].split(separator: "\n").map(String.init), expected)
    XCTAssertEqual(Set(outputs).count, 1)
  }

  func testStandardOutputTakesTheSingleImage() throws {
    let scratch = try ScratchFolder()
    let result = try ConvvizBinary.run(
      ["filter", "-k", "blur", camera, "-o", "-"], in: scratch.url)
    XCTAssertEqual(result.status, 0, result.standardError)
    let image = try ImageFile.decode([UInt8](result.standardOutputBytes), name: "stdout")
    XCTAssertEqual([image.width, image.height], [510, 510])
    XCTAssertTrue(result.standardError.contains("wrote standard output"), result.standardError)
    XCTAssertEqual(scratch.contents(), [])
    let jpeg = try ConvvizBinary.run(
      ["filter", "--format", "jpeg", camera, "-o", "-"], in: scratch.url)
    XCTAssertEqual(ImageFormat.sniffed(jpeg.standardOutputBytes), .jpeg)
    try assertRefused(
      ["filter", "-k", "blur", "-k", "edges", camera, "-o", "-"], in: scratch,
      mentioning: "-o - writes one image")
  }

  /// Regression: a 16-bit input written as JPEG lost 8 bits without a word.
  func testSixteenBitInputWrittenAsJPEGIsNoted() throws {
    let scratch = try ScratchFolder()
    let deep = scratch.file("deep.png")
    try ImageFile.write(
      Image(width: 8, height: 8, layout: .gray, samples16: (0..<64).map { UInt16($0 * 1000) }),
      to: deep)
    let jpeg = try ConvvizBinary.run(
      ["filter", "-k", "blur", deep, "-o", "d.jpg"], in: scratch.url)
    XCTAssertEqual(jpeg.status, 0, jpeg.standardError)
    XCTAssertTrue(
      jpeg.standardError.contains("convviz: note: \(deep) is 16-bit"), jpeg.standardError)
    let png = try ConvvizBinary.run(["filter", "-k", "blur", deep, "-o", "d.png"], in: scratch.url)
    XCTAssertEqual(png.standardError, "")
  }

  /// Regression: --timings lines did not say which file and kernel.
  func testTimingsNameTheirFileAndKernel() throws {
    let scratch = try ScratchFolder()
    let result = try ConvvizBinary.run(
      ["filter", "-k", "blur", "-k", "edges", "--timings", camera, rocket, "-o", "t"],
      in: scratch.url)
    XCTAssertEqual(result.status, 0, result.standardError)
    for (file, kernel) in [
      (camera, "blur"), (camera, "edges"), (rocket, "blur"), (rocket, "edges"),
    ] {
      XCTAssertTrue(
        result.standardError.contains("ms (\(file), \(kernel))\n"),
        "\(file) \(kernel): \(result.standardError)")
    }
    XCTAssertTrue(result.standardError.contains("timing decode"), result.standardError)
  }
}

extension ImageFormat {
  /// The format of encoded bytes, by their signature.
  static func sniffed(_ data: Data) -> ImageFormat? { ImageFile.sniff([UInt8](data.prefix(16))) }
}
