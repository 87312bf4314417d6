import Foundation
import ImageCodecs
import ModelFormats
import XCTest

@testable import convviz

/// Work that would not fit in memory is refused before it is allocated,
/// with one line naming the estimate and `--max-memory` (docs/robustness.md);
/// an allocation the system refuses anyway is an error, never a crash.
final class MemoryBudgetCommandTests: XCTestCase {
  /// One line on stderr, exit 1, naming `needles`.
  func assertRefused(
    _ result: TrainingCLI.Result, mentioning needles: [String],
    file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(result.status, 1, result.stderr, file: file, line: line)
    XCTAssertEqual(
      result.stderr.split(separator: "\n").count, 1, result.stderr, file: file, line: line)
    XCTAssertTrue(
      result.stderr.hasPrefix("convviz: error: "), result.stderr, file: file, line: line)
    for needle in needles {
      XCTAssertTrue(
        result.stderr.contains(needle), "expected '\(needle)' in: \(result.stderr)",
        file: file, line: line)
    }
  }

  func testTrainingAModelTooLargeForTheBudgetIsRefusedBeforeItIsBuilt() throws {
    let folder = try TrainingScratchFolder()
    try TrainEndToEndTests.writeBars(to: folder, count: 80)
    let data = folder.path + "/data"
    // 333 million parameters: with gradients, Adadelta's two slots and a
    // checkpoint being written, about 12 GiB before any data is read.
    let wide = try folder.write(
      Array("input 8 8 1\nflatten\ndense 4969000 relu\ndense 2 softmax\n".utf8), to: "wide.txt")
    let model = folder.path + "/out/model.bin"
    let refused = try TrainingCLI.run([
      "train", "--model", wide, "--data", data, "--max-memory", "1G", "-o", model,
    ])
    assertRefused(
      refused,
      mentioning: [
        "convviz: error: \(wide): training: needs about",
        "more than the memory budget of 1.0 GiB (raise with --max-memory)\n",
      ])
    XCTAssertFalse(FileManager.default.fileExists(atPath: model))

    // A network whose batches are what does not fit: 2.4 MB of outputs
    // per sample, 72 samples a batch (all the training part; a larger
    // --batch-size would change nothing and is not held against it).
    let wideMaps = try folder.write(
      Array("input 8 8 1\nconv2d 4096 3 relu\nflatten\ndense 2 softmax\n".utf8), to: "maps.txt")
    for batchSize in ["100", "1000000"] {
      let batches = try TrainingCLI.run([
        "train", "--model", wideMaps, "--data", data, "--batch-size", batchSize,
        "--max-memory", "100M", "-o", model,
      ])
      assertRefused(
        batches,
        mentioning: [
          "\(wideMaps): training with batches of 72 on mnist \(data): needs about",
          "(raise with --max-memory; or lower --batch-size)",
        ])
    }
    let fits = try TrainingCLI.run([
      "train", "--model", wideMaps, "--data", data, "--batch-size", "8", "--max-memory", "100M",
      "--epochs", "1", "-o", model,
    ])
    XCTAssertEqual(fits.status, 0, fits.stderr)
    try FileManager.default.removeItem(atPath: model)

    // A few million units: beyond any model file, refused by the spec itself.
    let huge = try folder.write(
      Array("input 28 28 1\nflatten\ndense 2500000 relu\ndense 10 softmax\n".utf8), to: "huge.txt")
    let tooLarge = try TrainingCLI.run(["train", "--model", huge, "--data", data, "-o", model])
    assertRefused(tooLarge, mentioning: ["line 3: model too large: more than 536870912 parameters"])
  }

  func testDumpWeightsRefusesAScaleWhosePictureDoesNotFit() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try ScratchFolder()
    let refused = try TrainingCLI.run([
      "dump-weights", fixture.model, "--scale", "100000", "-o", out.path,
    ])
    assertRefused(
      refused,
      mentioning: [
        "\(fixture.model): drawing the filters of conv2d (", "pixels): needs about",
        "TiB, more than the memory budget", "(raise with --max-memory; or lower --scale)",
      ])
    XCTAssertEqual(out.contents(), [])
    let absurd = try TrainingCLI.run([
      "dump-weights", fixture.model, "--scale", "1000000000", "-o", out.path,
    ])
    XCTAssertEqual(absurd.status, 64, absurd.stderr)
    XCTAssertTrue(absurd.stderr.contains("--scale must be at most 1048576"), absurd.stderr)
  }

  func testRandomFeatureMapsBeyondTheBudgetAreRefused() throws {
    let out = try ScratchFolder()
    let camera = repositoryFile("samples/camera.png")
    let refused = try TrainingCLI.run([
      "featuremaps", "--random", "1000000000", camera, "-o", out.path,
    ])
    assertRefused(
      refused,
      mentioning: [
        "\(camera): 1000000000 random feature maps: needs about", "PiB",
        "(raise with --max-memory)",
      ])
    XCTAssertEqual(out.contents(), [], "no picture written")
    let overflow = try TrainingCLI.run([
      "featuremaps", "--random", String(Int.max), camera, "-o", out.path,
    ])
    assertRefused(overflow, mentioning: ["needs more than 8 EiB"])
  }

  /// A photo through the MNIST network: whole, its 32 maps would take
  /// more than the budget (a 36-megapixel photo's take 4.6 GB); made at
  /// display size, band by band, they fit. Maps the grid would show
  /// whole (`--max-tile` above their size) are refused with the estimate.
  func testFeatureMapsOfALargePhotoAreMadeInBandsWithinTheBudget() throws {
    let folder = try TrainingScratchFolder()
    let model = try CommandConventionTests.untrainedModel(
      Preset.mnistCNN.spec.canonicalText, in: folder)
    let photo = folder.path + "/big.png"
    let (width, height) = (900, 600)
    try ImageFile.write(
      Image(
        width: width, height: height, layout: .gray,
        samples: (0..<(width * height)).map { UInt8(truncatingIfNeeded: $0 % width * 7) }),
      to: photo)
    let wholeMaps = 32 * (width - 2) * (height - 2) * 4
    XCTAssertGreaterThan(wholeMaps, 40 << 20)
    let out = try ScratchFolder()
    let banded = try TrainingCLI.run([
      "featuremaps", model, photo, "--max-memory", "40M", "--overlay", "-o", out.path,
    ])
    XCTAssertEqual(banded.status, 0, banded.stderr)
    XCTAssertEqual(
      out.contents(), ["big-conv2d-featuremaps.png", "big-conv2d-overlay.png", "big-input.png"])
    let maps = try ImageFile.read(out.file("big-conv2d-featuremaps.png"))
    XCTAssertLessThan(maps.width, 1920, "shown at display size")

    let whole = try ScratchFolder()
    let refused = try TrainingCLI.run([
      "featuremaps", model, photo, "--max-memory", "40M", "--max-tile", "100000", "-o", whole.path,
    ])
    assertRefused(
      refused,
      mentioning: [
        "\(photo): feature maps of conv2d: needs about", "more than the memory budget of 40.0 MiB",
        "(raise with --max-memory; or shrink the photo (900×600) to about",
      ])
    XCTAssertEqual(whole.contents(), [])
  }

  func testFilterOutputsPassThePixelLimitAndTheBudget() throws {
    let folder = try ScratchFolder()
    let tiny = folder.file("tiny.png")
    try ImageFile.write(
      Image(width: 4, height: 3, layout: .gray, samples: [UInt8](repeating: 7, count: 12)),
      to: tiny)
    let out = try ScratchFolder()
    // 40002×40001 pixels out of 12.
    let padded = try TrainingCLI.run([
      "filter", "-k", "blur", "--padding", "20000", tiny, "-o", out.path,
    ])
    assertRefused(
      padded,
      mentioning: [
        "\(tiny): the blur-pad20000 output would be 40002×40001 pixels, more than the limit "
          + "of 178956970; raise it with --max-pixels"
      ])
    // Inside the pixel limit (6002×6001) but not the budget, on the
    // whole-image path (forced by CONVVIZ_STREAMING=0).
    let wholeImage = try ConvvizBinary.run(
      [
        "filter", "-k", "blur", "--padding", "3000", "--range", "normalize", tiny,
        "--max-memory", "10M", "-o", "-",
      ], environment: ["CONVVIZ_STREAMING": "0"])
    let budgeted = TrainingCLI.Result(
      status: wholeImage.status, stdout: wholeImage.standardOutput,
      stderr: wholeImage.standardError)
    assertRefused(
      budgeted,
      mentioning: [
        "\(tiny): the blur-pad3000-normalize output (6002×6001): needs about",
        "more than the memory budget of 10.0 MiB (raise with --max-memory)",
      ])
    XCTAssertEqual(budgeted.stdout, "")
    XCTAssertEqual(out.contents(), [])
    // The streaming path holds a few bands of rows, not the output: the same
    // budget is enough for it, also in two passes for --range normalize.
    for options in [[], ["--range", "normalize"]] {
      let streamed = try TrainingCLI.run(
        ["filter", "-k", "blur", "--padding", "3000", tiny, "--max-memory", "10M", "-o"]
          + [folder.file("streamed.png")] + options)
      XCTAssertEqual(streamed.status, 0, streamed.stderr)
    }
    let allowed = try TrainingCLI.run([
      "filter", "-k", "blur", "--padding", "3000", tiny, "--max-memory", "1G", "-o", out.path,
    ])
    XCTAssertEqual(allowed.status, 0, allowed.stderr)
  }

  /// With an address-space limit below what the budget allows, the
  /// allocation itself fails: one line, exit 1, no backtrace.
  func testAnAllocationTheSystemRefusesIsAnErrorNotACrash() throws {
    let out = try ScratchFolder()
    let camera = repositoryFile("samples/camera.png")
    let result = try ConvvizBinary.run(
      ["featuremaps", "--random", "2000", camera, "--max-memory", "100G", "-o", out.path],
      addressSpaceKiB: 3_000_000)
    XCTAssertEqual(result.status, 1, result.standardError)
    XCTAssertEqual(
      result.standardError.split(separator: "\n").count, 1, result.standardError)
    XCTAssertTrue(
      result.standardError.hasPrefix(
        "convviz: error: \(camera): 2000 random feature maps: could not allocate"),
      result.standardError)
    XCTAssertEqual(out.contents(), [])
  }

  /// The default budget is three quarters of what the process may have,
  /// here the address-space limit: 3,000,000 KiB gives 2.1 GiB.
  func testTheDefaultBudgetFollowsTheAddressSpaceLimit() throws {
    let out = try ScratchFolder()
    let result = try ConvvizBinary.run(
      ["featuremaps", "--random", "2000", repositoryFile("samples/camera.png"), "-o", out.path],
      addressSpaceKiB: 3_000_000)
    XCTAssertEqual(result.status, 1, result.standardError)
    XCTAssertTrue(
      result.standardError.contains("more than the memory budget of 2.1 GiB"),
      result.standardError)
  }

  func testEveryCommandThatReadsAModelChecksItsSizeFirst() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try ScratchFolder()
    // train --resume would rewrite its checkpoint: give it a copy.
    let copies = try ScratchFolder()
    let checkpoint = copies.file("model.bin")
    try FileManager.default.copyItem(atPath: fixture.model, toPath: checkpoint)
    let commands: [[String]] = [
      ["summary", fixture.model],
      ["evaluate", fixture.model, "--data", fixture.data, "-o", out.file("c.png")],
      ["predict", fixture.model, fixture.photo],
      ["dump-weights", fixture.model, "-o", out.path],
      ["featuremaps", fixture.model, fixture.photo, "-o", out.path],
      ["report", fixture.model, "-o", out.file("r.html")],
      ["train", "--resume", "--data", fixture.data, "-o", checkpoint, "--epochs", "9"],
    ]
    for arguments in commands {
      let result = try TrainingCLI.run(arguments + ["--max-memory", "1K"])
      let reading =
        arguments[0] == "train"
        ? "\(checkpoint): reading the checkpoint" : "\(fixture.model): reading the model"
      assertRefused(
        result, mentioning: ["\(reading): needs about", "the memory budget of 1.0 KiB"])
    }
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: checkpoint)),
      try Data(contentsOf: URL(fileURLWithPath: fixture.model)))
    XCTAssertEqual(out.contents(), [])
  }

  func testMaxMemoryValues() throws {
    XCTAssertEqual(try MemorySize.parse("512M"), .bytes(512 << 20))
    XCTAssertEqual(try MemorySize.parse("4G"), .bytes(4 << 30))
    XCTAssertEqual(try MemorySize.parse("4gib"), .bytes(4 << 30))
    XCTAssertEqual(try MemorySize.parse("4GB"), .bytes(4 << 30))
    XCTAssertEqual(try MemorySize.parse("1.5T"), .bytes(3 << 39))
    XCTAssertEqual(try MemorySize.parse("123456"), .bytes(123_456))
    XCTAssertEqual(try MemorySize.parse("100k"), .bytes(102_400))
    XCTAssertEqual(try MemorySize.parse("50%"), .percent(50))
    for bad in ["", "G", "-1G", "0", "0.1", "12X", "nan", "inf", "1e30T", "%", "-5%", "0%"] {
      XCTAssertThrowsError(try MemorySize.parse(bad), bad)
    }
    let result = try TrainingCLI.run(["summary", "mnist-cnn", "--max-memory", "lots"])
    XCTAssertEqual(result.status, 64, result.stderr)
    XCTAssertTrue(result.stderr.contains("give a size such as 512M"), result.stderr)
    let help = try TrainingCLI.run(["train", "--help"]).stdout
    XCTAssertTrue(help.contains("--max-memory <size>"), help)
    XCTAssertTrue(help.flattened.contains("(default: 75%"), help)
  }
}

extension ConvvizBinary {
  /// Runs `convviz arguments...` with its address space limited to
  /// `addressSpaceKiB` (`ulimit -v`), so that large allocations fail.
  static func run(_ arguments: [String], addressSpaceKiB: Int) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments =
      ["-c", "ulimit -v \(addressSpaceKiB) && exec \"$0\" \"$@\"", url.path] + arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(
      status: process.terminationStatus,
      standardOutput: String(decoding: outData, as: UTF8.self),
      standardError: String(decoding: errData, as: UTF8.self), standardOutputBytes: outData)
  }
}
