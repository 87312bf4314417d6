import Foundation
import ImageCodecs
import XCTest

@testable import convviz

/// The repository root, found from this file's path, for samples/ and data/.
let repositoryRoot = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func repositoryFile(_ relative: String) -> String {
  repositoryRoot.appendingPathComponent(relative).path
}

final class FilterParsingTests: XCTestCase {
  func testDefaultsAreTheSeeds() throws {
    let filter = try Filter.parse(["a.png"])
    XCTAssertEqual(filter.padding, .valid)
    XCTAssertEqual(filter.border, .zero)
    XCTAssertEqual(filter.range, .clamp)
    XCTAssertNil(filter.batch.quality, "given only for JPEG outputs; 90 then")
    XCTAssertEqual(filter.kernel, [])
  }

  func testRepeatedKernelsAndPaddingValues() throws {
    let filter = try Filter.parse([
      "--kernel", "blur", "-k", "1,0,-1;2,0,-2;1,0,-1", "--padding", "2", "a.png",
    ])
    XCTAssertEqual(filter.kernel, ["blur", "1,0,-1;2,0,-2;1,0,-1"])
    XCTAssertEqual(filter.padding, .symmetric(2))
    XCTAssertThrowsError(try Filter.parse(["--padding", "-1", "a.png"]))
    XCTAssertEqual(try Filter.parse(["--padding", "same", "a.png"]).padding, .same)
  }

  func testJPEGSettingsReachTheDecoder() throws {
    let filter = try Filter.parse(["--jpeg-upsampling", "fast", "--jpeg-dct", "float", "a.jpg"])
    XCTAssertEqual(filter.decoding.decodeOptions.jpegUpsampling, .fast)
    XCTAssertEqual(filter.decoding.decodeOptions.jpegDCT, .float)
    let defaults = try Filter.parse(["a.jpg"]).decoding.decodeOptions
    XCTAssertEqual([defaults.jpegUpsampling], [.fancy])
    XCTAssertEqual([defaults.jpegDCT], [.int])
    XCTAssertThrowsError(try Filter.parse(["--jpeg-dct", "islow", "a.jpg"]))
    XCTAssertThrowsError(try Filter.parse(["--jpeg-upsampling", "smooth", "a.jpg"]))
  }

  func testBadOptionsAreRejected() {
    XCTAssertThrowsError(try Filter.parse(["--stride", "0", "a.png"]))
    XCTAssertThrowsError(try Filter.parse(["--stride-y", "-1", "a.png"]))
    XCTAssertThrowsError(try Filter.parse(["--dilation", "0", "a.png"]))
    XCTAssertThrowsError(try Filter.parse(["--padding", "sometimes", "a.png"]))
    XCTAssertThrowsError(try Filter.parse(["--border", "mirror", "a.png"]))
    XCTAssertThrowsError(try Filter.parse(["--quality", "101", "a.png"]))
    XCTAssertThrowsError(try Filter.parse([]))
  }

  func testIDXReferences() throws {
    XCTAssertEqual(
      try InputImage.parseIDXReference("mnist:data/x.gz#3"), .idx(path: "data/x.gz", index: 3))
    XCTAssertNil(try InputImage.parseIDXReference("photo.png"))
    XCTAssertThrowsError(try InputImage.parseIDXReference("mnist:data/x.gz"))
    XCTAssertThrowsError(try InputImage.parseIDXReference("mnist:data/x.gz#-1"))
    XCTAssertEqual(
      InputImage.idx(path: "d/train-images-idx3-ubyte.gz", index: 3).stem, "train-images-3")
  }
}

final class FilterCommandTests: XCTestCase {
  let camera = repositoryFile("samples/camera.png")
  let mnist = repositoryFile("data/mnist/train-images-idx3-ubyte.gz")

  func testSeedExampleWritesTwo26x26Images() throws {
    let scratch = try ScratchFolder()
    let result = try ConvvizBinary.run(
      ["filter", "--kernel", "blur", "--kernel", "edges", "mnist:\(mnist)#3", "-o", scratch.path])
    XCTAssertEqual(result.status, 0, result.standardError)
    XCTAssertEqual(scratch.contents(), ["train-images-3-blur.png", "train-images-3-edges.png"])
    for name in scratch.contents() {
      let image = try ImageFile.read(scratch.file(name))
      XCTAssertEqual([image.width, image.height], [26, 26])
      XCTAssertEqual(image.layout, .gray)
    }
    XCTAssertTrue(
      result.standardOutput.contains("wrote \(scratch.file("train-images-3-blur.png"))"))
  }

  func testSeedExampleMatchesHandComputedBlurAndEdges() throws {
    let scratch = try ScratchFolder()
    let result = try ConvvizBinary.run(
      ["filter", "-k", "blur", "-k", "edges", "mnist:\(mnist)#3", "-o", scratch.path])
    XCTAssertEqual(result.status, 0, result.standardError)
    let digit = try IDXDigit(mnistPath: mnist, index: 3)
    let blur = try ImageFile.read(scratch.file("train-images-3-blur.png"))
    let edges = try ImageFile.read(scratch.file("train-images-3-edges.png"))
    for y in 0..<26 {
      for x in 0..<26 {
        var sumAll = 0
        for dy in 0..<3 { for dx in 0..<3 { sumAll += digit[x + dx, y + dy] } }
        let centre = digit[x + 1, y + 1]
        let expectedBlur = Int((Double(sumAll) / 9).rounded(.toNearestOrEven))
        let expectedEdges = min(max(sumAll - 9 * centre, 0), 255)
        XCTAssertEqual(Int(blur.samples8[y * 26 + x]), expectedBlur, "blur at \(x),\(y)")
        XCTAssertEqual(Int(edges.samples8[y * 26 + x]), expectedEdges, "edges at \(x),\(y)")
      }
    }
  }

  func testSingleOutputFileAndJPEG() throws {
    let scratch = try ScratchFolder()
    let destination = scratch.file("cam.jpg")
    let result = try ConvvizBinary.run(
      [
        "filter", "-k", "sobel", "--padding", "same", "--border", "reflect", camera, "-o",
        destination,
      ])
    XCTAssertEqual(result.status, 0, result.standardError)
    XCTAssertEqual(scratch.contents(), ["cam.jpg"])
    let image = try ImageFile.read(destination)
    XCTAssertEqual([image.width, image.height], [512, 512])
  }

  /// Netpbm in and out: a folder's .ppm and .pgm are read, `--format pnm`
  /// names the outputs .pnm, and the pixels survive an identity filter on
  /// both the streaming and the whole-image path.
  func testNetpbmFilesInFoldersAndOut() throws {
    let inputs = try ScratchFolder()
    let outputs = try ScratchFolder()
    let gray = try ImageFile.read(camera)
    let colour = try ImageFile.read(repositoryFile("samples/rocket.jpg"))
    try ImageFile.write(gray, to: inputs.file("cam.pgm"))
    try ImageFile.write(colour, to: inputs.file("rocket.ppm"))
    for streaming in ["1", "0"] {
      let result = try ConvvizBinary.run(
        [
          "filter", "-k", "identity", "--padding", "same", "--format", "pnm", inputs.path, "-o",
          outputs.path,
        ], environment: ["CONVVIZ_STREAMING": streaming])
      XCTAssertEqual(result.status, 0, result.standardError)
      XCTAssertEqual(outputs.contents(), ["cam-identity-same.pnm", "rocket-identity-same.pnm"])
      XCTAssertEqual(try ImageFile.read(outputs.file("cam-identity-same.pnm")), gray)
      XCTAssertEqual(try ImageFile.read(outputs.file("rocket-identity-same.pnm")), colour)
    }
    let single = try ConvvizBinary.run(
      ["filter", "-k", "identity", inputs.file("rocket.ppm"), "-o", outputs.file("r.ppm")])
    XCTAssertEqual(single.status, 0, single.standardError)
    XCTAssertEqual(
      Array(try Data(contentsOf: URL(fileURLWithPath: outputs.file("r.ppm"))).prefix(2)),
      Array("P6".utf8))
  }

  func testStrideThatDoesNotDivideWarnsAndFloors() throws {
    let scratch = try ScratchFolder()
    // 512 − 3 = 509 is odd: stride 2 drops one pixel per axis, giving 255×255.
    let result = try ConvvizBinary.run(
      ["filter", "-k", "edges", "--stride", "2", camera, "-o", scratch.file("s.png")])
    XCTAssertEqual(result.status, 0, result.standardError)
    XCTAssertTrue(result.standardError.contains("warning: "), result.standardError)
    let image = try ImageFile.read(scratch.file("s.png"))
    XCTAssertEqual([image.width, image.height], [255, 255])
  }

  func testTimingsGoToStandardError() throws {
    let scratch = try ScratchFolder()
    let result = try ConvvizBinary.run(
      ["filter", "-k", "identity", "--timings", camera, "-o", scratch.file("t.png")])
    XCTAssertEqual(result.status, 0, result.standardError)
    for stage in ["decode", "filter", "encode", "write"] {
      XCTAssertNotNil(
        result.standardError.range(of: "timing \(stage) [0-9.]+ ms", options: .regularExpression),
        result.standardError)
    }
    XCTAssertFalse(result.standardOutput.contains("timing"))
  }

  func testFolderOfInputsIsProcessedAndAFailureIsReportedWithoutStoppingOthers() throws {
    let inputs = try ScratchFolder()
    let outputs = try ScratchFolder()
    try FileManager.default.copyItem(atPath: camera, toPath: inputs.file("a.png"))
    try FileManager.default.copyItem(atPath: camera, toPath: inputs.file("b.png"))
    try Data("not an image".utf8).write(to: URL(fileURLWithPath: inputs.file("c.png")))
    let result = try ConvvizBinary.run(["filter", "-k", "blur", inputs.path, "-o", outputs.path])
    XCTAssertEqual(result.status, 1)
    XCTAssertEqual(outputs.contents(), ["a-blur.png", "b-blur.png"])
    XCTAssertTrue(result.standardError.contains("c.png"), result.standardError)
  }

  func testBadInputsGiveOneLineErrorsAndNoOutput() throws {
    let scratch = try ScratchFolder()
    let truncated = scratch.file("truncated.png")
    let bytes = try Data(contentsOf: URL(fileURLWithPath: camera))
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
    let empty = scratch.file("empty.png")
    XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
    let cases: [(arguments: [String], mentions: String)] = [
      (["filter", scratch.file("missing.png")], "missing.png"),
      (["filter", truncated], "truncated.png"),
      (["filter", empty], "empty.png"),
      (["filter", "-k", "1,x;2,3", camera], "x"),
      (["filter", "-k", repositoryFile("README.md"), camera], "README.md"),
      (["filter", "-k", "gaussian", "--size", "2000", camera], "size"),
      (["filter", "-k", String(repeating: "1,", count: 600) + "1", camera], "kernel"),
      (["filter", "mnist:\(mnist)#60000"], "60000"),
    ]
    for (arguments, mentions) in cases {
      let out = try ScratchFolder()
      let result = try ConvvizBinary.run(arguments + ["-o", out.path])
      XCTAssertEqual(result.status, 1, "\(arguments): \(result.standardError)")
      let lines = result.standardError.split(separator: "\n")
      XCTAssertEqual(lines.count, 1, "\(arguments): \(result.standardError)")
      XCTAssertTrue(lines.first?.hasPrefix("convviz: error: ") ?? false, result.standardError)
      XCTAssertTrue(
        result.standardError.contains(mentions), "\(arguments): \(result.standardError)")
      XCTAssertEqual(out.contents(), [], "\(arguments) left output behind")
    }
  }

  func testKernelsListsEveryBuiltin() throws {
    let result = try ConvvizBinary.run(["kernels"])
    XCTAssertEqual(result.status, 0)
    XCTAssertTrue(result.standardOutput.contains("edges: "))
    XCTAssertTrue(result.standardOutput.contains("[  1  -8   1 ]"), result.standardOutput)
    XCTAssertTrue(result.standardOutput.contains("sobel-y: "))
    XCTAssertTrue(result.standardOutput.contains("gaussian: "))
  }
}

/// The pixels of one MNIST digit, read independently of convviz's IDX code
/// through gunzip, for the hand-computed expectation.
struct IDXDigit {
  let pixels: [UInt8]

  init(mnistPath: String, index: Int) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-dc", mnistPath]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let start = 16 + index * 784
    pixels = Array(data[start..<start + 784])
  }

  subscript(x: Int, y: Int) -> Int { Int(pixels[y * 28 + x]) }
}
