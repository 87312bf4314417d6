import Foundation
import ImageCodecs
import Tensors
import XCTest

@testable import convviz

/// Everything printed goes through one writer: one error prefix, control
/// characters escaped, results on stdout only.
final class TerminalTests: XCTestCase {
  func testEscapingKeepsTextAndShowsControlCharacters() {
    XCTAssertEqual(Terminal.escaped("plain ünïcode ×"), "plain ünïcode ×")
    XCTAssertEqual(Terminal.escaped("a\u{1B}]0;title\u{07}b"), "a\\x1b]0;title\\x07b")
    XCTAssertEqual(Terminal.escaped("tab\tline\nreturn\r"), "tab\\tline\\nreturn\\r")
    XCTAssertEqual(Terminal.escaped("del\u{7F} csi\u{9B}"), "del\\x7f csi\\u{9b}")
    XCTAssertEqual(Terminal.escaped("two\nlines\u{1B}", keepingLineBreaks: true), "two\nlines\\x1b")
  }

  /// Regression: the argument parser's errors started "Error:".
  func testParserErrorsHaveTheCommonPrefix() throws {
    for arguments in [
      ["filter", "--no-such-option", "a.png"], ["filter", "--border", "mirror", "a.png"],
      ["train", "--data"], ["no-such-command"], ["summary"],
    ] {
      let result = try ConvvizBinary.run(arguments)
      XCTAssertEqual(result.status, 64, "\(arguments): \(result.standardError)")
      XCTAssertTrue(
        result.standardError.hasPrefix("convviz: error: "), "\(arguments): \(result.standardError)")
      XCTAssertFalse(result.standardError.contains("Error: "), result.standardError)
      XCTAssertEqual(result.standardOutput, "")
    }
  }

  /// Regression: `--padding -1` (and any negative number) was read as a
  /// missing value.
  func testNegativeNumbersAreValuesNotOptions() throws {
    let padding = try ConvvizBinary.run(["filter", "--padding", "-1", "a.png"])
    XCTAssertEqual(padding.status, 64)
    XCTAssertTrue(
      padding.standardError.contains("padding cannot be negative"), padding.standardError)
    XCTAssertFalse(padding.standardError.contains("Missing value"), padding.standardError)
    let scratch = try ScratchFolder()
    let bias = try ConvvizBinary.run(
      [
        "filter", "-k", "identity", "--bias", "-10", repositoryFile("samples/camera.png"), "-o",
        "b.png",
      ],
      in: scratch.url)
    XCTAssertEqual(bias.status, 0, bias.standardError)
    let stride = try ConvvizBinary.run(["filter", "--stride", "-2", "a.png"])
    XCTAssertTrue(
      stride.standardError.contains("--stride must be at least 1"), stride.standardError)
  }

  /// Regression (hostile input): a file name with ESC/BEL sequences reached
  /// the terminal raw and could retitle it or change its colours.
  func testFileNamesAreEscapedInErrorsAndResults() throws {
    let scratch = try ScratchFolder()
    let hostile = "x\u{1B}]0;owned\u{07}\u{1B}[31m.png"
    let missing = try ConvvizBinary.run(["filter", hostile], in: scratch.url)
    XCTAssertEqual(missing.status, 1)
    XCTAssertTrue(
      missing.standardError.contains("x\\x1b]0;owned\\x07\\x1b[31m.png"), missing.standardError)
    XCTAssertFalse(missing.standardError.contains("\u{1B}"))
    XCTAssertEqual(missing.standardError.split(separator: "\n").count, 1)

    try FileManager.default.copyItem(
      atPath: repositoryFile("samples/camera.png"), toPath: scratch.file(hostile))
    let written = try ConvvizBinary.run(
      ["filter", "-k", "blur", hostile, "-o", "out/"], in: scratch.url)
    XCTAssertEqual(written.status, 0, written.standardError)
    XCTAssertTrue(
      written.standardOutput.contains("wrote out/x\\x1b]0;owned"), written.standardOutput)
    XCTAssertFalse(
      written.standardOutput.contains("\u{1B}") || written.standardOutput.contains("\u{07}"))
  }

  /// Class names come from folder names: escaped in every table and line.
  func testClassNamesAreEscapedInEvaluateAndSummary() throws {
    let (folder, data, model) = try ImageFolderFixture.trained(classes: ["h", "v\u{1B}[2J"])
    for arguments in [
      ["evaluate", model, "--data", data, "-o", folder.path + "/c.png"], ["summary", model],
    ] {
      let result = try TrainingCLI.run(arguments)
      XCTAssertEqual(result.status, 0, result.stderr)
      XCTAssertTrue(result.stdout.contains("v\\x1b[2J"), "\(arguments): \(result.stdout)")
      XCTAssertFalse(result.stdout.contains("\u{1B}"), "\(arguments)")
    }
  }
}

/// An image folder data set of 8×8 bars: one sub-folder per class, the
/// first class horizontal bars, the others vertical.
enum ImageFolderFixture {
  static func write(
    to folder: TrainingScratchFolder, classes: [String], perClass: Int = 8
  )
    throws -> String
  {
    let root = folder.path + "/images"
    for (c, name) in classes.enumerated() {
      let classFolder = root + "/" + name
      try FileManager.default.createDirectory(
        atPath: classFolder, withIntermediateDirectories: true)
      for i in 0..<perClass {
        let pixels = TrainEndToEndTests.barImage(vertical: c > 0, position: i % 8, noise: i)
        try ImageFile.write(
          Image(width: 8, height: 8, layout: .gray, samples: pixels), to: classFolder + "/\(i).png")
      }
    }
    return root
  }

  /// The folder, the data set in it, and the bars spec trained on it for
  /// one epoch.
  static func trained(classes: [String]) throws -> (TrainingScratchFolder, String, String) {
    let folder = try TrainingScratchFolder()
    let data = try write(to: folder, classes: classes)
    let spec = try folder.write(Array(TrainEndToEndTests.spec.utf8), to: "bars.txt")
    let model = folder.path + "/model.bin"
    let train = try TrainingCLI.run([
      "train", "--model", spec, "--data", data, "--epochs", "1", "--batch-size", "8", "-o", model,
    ])
    XCTAssertEqual(train.status, 0, train.stderr)
    return (folder, data, model)
  }
}

/// The progress bar, seen through a pseudo-terminal (util-linux `script`):
/// drawn on stderr when it is a terminal, never on a redirected stdout.
final class ProgressBarTerminalTests: XCTestCase {
  /// Runs `command` (a shell line) with stdin, stdout and stderr on a
  /// pseudo-terminal and returns what the terminal showed.
  func onTerminal(_ command: String) throws -> String {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
      throw XCTSkip("needs util-linux script for a pseudo-terminal")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
    process.arguments = ["-qec", command, "/dev/null"]
    let out = Pipe()
    process.standardOutput = out
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, String(decoding: data, as: UTF8.self))
    return String(decoding: data, as: UTF8.self)
  }

  func testTrainAndFilterDrawTheBarOnStandardErrorOnly() throws {
    let folder = try TrainingScratchFolder()
    try TrainEndToEndTests.writeBars(to: folder, count: 200)
    let spec = try folder.write(Array(TrainEndToEndTests.spec.utf8), to: "bars.txt")
    let binary = ConvvizBinary.url.path
    let screen = try onTerminal(
      "\(binary) train --model \(spec) --data \(folder.path)/data --epochs 2 --batch-size 10 "
        + "-o \(folder.path)/m.bin > \(folder.path)/stdout.txt")
    XCTAssertTrue(screen.contains("epoch 1/2  18/18 ["), screen)
    XCTAssertTrue(screen.contains("\r\u{1B}[K"), "redrawn in place")
    let stdout = try String(contentsOfFile: folder.path + "/stdout.txt", encoding: .utf8)
    XCTAssertFalse(
      stdout.contains("\r") || stdout.contains("\u{1B}") || stdout.contains("["), stdout)
    XCTAssertEqual(stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.count, 2)

    let photos = folder.path + "/photos"
    try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
    for i in 0..<5 {
      try FileManager.default.copyItem(
        atPath: repositoryFile("samples/camera.png"), toPath: photos + "/p\(i).png")
    }
    let filtering = try onTerminal(
      "\(binary) filter -k blur \(photos) -o \(folder.path)/out > \(folder.path)/filter.txt")
    XCTAssertTrue(filtering.contains("filtering  5/5 ["), filtering)
    let lines = try String(contentsOfFile: folder.path + "/filter.txt", encoding: .utf8)
    XCTAssertEqual(lines.split(separator: "\n").count, 5, lines)
    XCTAssertFalse(lines.contains("filtering"), lines)
  }

  /// `evaluate` draws the bar for more than one batch, on stderr only.
  func testEvaluateDrawsTheBarOnATerminal() throws {
    let folder = try TrainingScratchFolder()
    let model = folder.path + "/id.onnx"
    try ModelInputCommandTests.identityModel(model)
    let inputs = try folder.write(
      NumPyFile.encode(shape: [30, 3, 2, 2], values: (0..<360).map { Float($0 % 7) }),
      to: "x.npy")
    var labels: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, 118, 0]
    let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (30,), }"
    labels += Array((header + String(repeating: " ", count: 117 - header.count) + "\n").utf8)
    labels += (0..<30).map { UInt8($0 % 12) }
    let labelFile = try folder.write(labels, to: "y.npy")
    let screen = try onTerminal(
      "\(ConvvizBinary.url.path) evaluate \(model) --data \(inputs) --labels-npy \(labelFile) "
        + "--batch-size 10 -o \(folder.path)/c.png > \(folder.path)/stdout.txt")
    XCTAssertTrue(screen.contains("evaluating  30/30 ["), screen)
    let stdout = try String(contentsOfFile: folder.path + "/stdout.txt", encoding: .utf8)
    XCTAssertFalse(stdout.contains("evaluating") || stdout.contains("\r"), stdout)
    XCTAssertTrue(stdout.contains("accuracy"), stdout)
  }
}
