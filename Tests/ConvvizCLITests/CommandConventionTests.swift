import Engine
import ModelFormats
import Training
import Foundation
import ImageCodecs
import Tensors
import XCTest

/// The conventions of issue 15 and the thin CLI of issue 9, command by
/// command: each test is the regression test of one behaviour.
final class CommandConventionTests: XCTestCase {
  /// Regression: `featuremaps model.bin` looked for a photo called model.bin
  /// in the default model, and `--random` without a photo read a default
  /// path relative to the current folder.
  func testFeatureMapsNeedsModelAndPhoto() throws {
    let fixture = try VisualizationFixture.trained()
    let one = try TrainingCLI.run(["featuremaps", fixture.model])
    XCTAssertEqual(one.status, 64)
    XCTAssertTrue(one.stderr.hasPrefix("convviz: error: expected MODEL PHOTO"), one.stderr)
    let random = try TrainingCLI.run(["featuremaps", "--random", "2"])
    XCTAssertEqual(random.status, 64)
    XCTAssertTrue(random.stderr.contains("--random needs a PHOTO"), random.stderr)
  }

  /// Regression: a problem with the model file was thrown as a usage error
  /// from `run()` (exit 64 and a usage line); it is a failure of the work.
  func testFeatureMapsModelProblemsExitWithStatusOne() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let notAModel = try out.write(Array("input 4 4 1\nflatten\ndense 2\n".utf8), to: "spec.txt")
    let cut = try out.write(
      Array([UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture.model))).prefix(100)),
      to: "cut.bin")
    let vector = try Self.untrainedModel("input 4 4 2\nflatten\ndense 2 softmax\n", in: out)
    for model in [notAModel, cut, vector] {
      let result = try TrainingCLI.run(["featuremaps", model, fixture.photo, "-o", out.path + "/o"])
      XCTAssertEqual(result.status, 1, "\(model): \(result.stderr)")
      XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
      XCTAssertTrue(result.stderr.hasPrefix("convviz: error: \(model)"), result.stderr)
    }
  }

  /// `summary` numbers the layers as `--layer` takes them, from 0.
  func testSummaryNumbersTheLayersFromZero() throws {
    let result = try TrainingCLI.run(["summary", "mnist-cnn"])
    XCTAssertEqual(result.status, 0, result.stderr)
    let lines = result.stdout.split(separator: "\n").map(String.init)
    XCTAssertTrue(lines.contains { $0.hasPrefix("#  Layer (type)") }, result.stdout)
    XCTAssertTrue(lines.contains { $0.hasPrefix("0  conv2d (Conv2D)") }, result.stdout)
    XCTAssertTrue(lines.contains { $0.hasPrefix("2  max_pooling2d (MaxPooling2D)") }, result.stdout)
    XCTAssertTrue(lines.contains { $0.hasPrefix("6  dense_1 (Dense)") }, result.stdout)
    let help = try TrainingCLI.run(["summary", "--help"])
    XCTAssertTrue(help.stdout.contains("from 0"), help.stdout)
  }

  /// Regression: a model without convolutions failed before writing any
  /// weight.
  func testDumpWeightsWithoutConvolutionsStillWritesEveryWeight() throws {
    let out = try TrainingScratchFolder()
    let model = try Self.untrainedModel("input 4 4 1\nflatten\ndense 3 softmax\n", in: out)
    let result = try TrainingCLI.run(["dump-weights", model, "-o", out.path + "/w"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: out.path + "/w/weights").sorted(),
      ["dense_bias.npy", "dense_kernel.npy", "summary.txt"])
    XCTAssertTrue(result.stderr.contains("no Conv2D layer: no filter grid to draw"), result.stderr)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: out.path + "/w"), ["weights"])
  }

  /// Regression: `kernels` printed "sharpen: sharpen: ...", small Gaussian
  /// weights as "0.", and could not show one kernel.
  func testKernelsListing() throws {
    let all = try TrainingCLI.run(["kernels"])
    XCTAssertEqual(all.status, 0, all.stderr)
    XCTAssertTrue(all.stdout.contains("sharpen: identity plus"), all.stdout)
    for line in all.stdout.split(separator: "\n") {
      let words = line.split(separator: " ")
      XCTAssertFalse(words.count > 1 && words[0] == words[1], "name twice: \(line)")
    }
    XCTAssertFalse(all.stdout.contains(" 0. "), all.stdout)
    let gaussian = try TrainingCLI.run(["kernels", "gaussian", "--sigma", "1"])
    XCTAssertEqual(gaussian.status, 0, gaussian.stderr)
    XCTAssertTrue(gaussian.stdout.hasPrefix("gaussian: "), gaussian.stdout)
    XCTAssertFalse(gaussian.stdout.contains("blur:"), gaussian.stdout)
    XCTAssertTrue(gaussian.stdout.contains("0.1592"), gaussian.stdout)
    XCTAssertTrue(gaussian.stdout.contains("e-05"), "the corners: \(gaussian.stdout)")
    let unknown = try TrainingCLI.run(["kernels", "gauss"])
    XCTAssertEqual(unknown.status, 64)
    XCTAssertTrue(unknown.stderr.contains("gaussian"), unknown.stderr)
  }

  /// `report -o -` writes the page to stdout; `-o FOLDER` writes
  /// FOLDER/report.html; `-o MODEL` is refused.
  func testReportOutputs() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let stdout = try TrainingCLI.run([
      "report", fixture.model, "--sample", fixture.photo, "-o", "-",
    ])
    XCTAssertEqual(stdout.status, 0, stdout.stderr)
    XCTAssertTrue(stdout.stdout.hasPrefix("<!DOCTYPE html>"), String(stdout.stdout.prefix(80)))
    XCTAssertTrue(stdout.stdout.contains("<h2>Filters</h2>"))

    let folder = try TrainingCLI.run(
      ["report", fixture.model, "--sample", fixture.photo, "-o", out.path + "/"])
    XCTAssertEqual(folder.status, 0, folder.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: out.path + "/report.html"))

    let before = try Data(contentsOf: URL(fileURLWithPath: fixture.model))
    for target in [fixture.model, fixture.photo] {
      let clobber = try TrainingCLI.run(
        ["report", fixture.model, "--sample", fixture.photo, "-o", target])
      XCTAssertEqual(clobber.status, 64, clobber.stderr)
      XCTAssertTrue(clobber.stderr.contains("would replace"), clobber.stderr)
    }
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: fixture.model)), before)
  }

  /// Regression: a data set without train/ and test/ was called the "train
  /// split"; `evaluate -o MODEL` is refused.
  func testEvaluateWordingAndOutputs() throws {
    let (folder, data, model) = try ImageFolderFixture.trained(classes: ["h", "v"])
    let result = try TrainingCLI.run(["evaluate", model, "--data", data, "-o", folder.path + "/"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("all 16 samples (no separate test split)"), result.stdout)
    XCTAssertFalse(result.stdout.contains("train split"), result.stdout)
    XCTAssertTrue(FileManager.default.fileExists(atPath: folder.path + "/model-all-confusion.png"))
    let clobber = try TrainingCLI.run(["evaluate", model, "--data", data, "-o", model])
    XCTAssertEqual(clobber.status, 64, clobber.stderr)
    XCTAssertTrue(clobber.stderr.contains("would replace the model"), clobber.stderr)
  }

  /// `-o -` is offered only where one image or page is written.
  func testStandardOutputOnlyWhereOneFileIsWritten() throws {
    let fixture = try VisualizationFixture.trained()
    for arguments in [
      ["dump-weights", fixture.model], ["featuremaps", fixture.model, fixture.photo],
      ["explain", fixture.model, fixture.photo],
      ["top-patches", fixture.model, "--data", fixture.data, "--layer", "0"],
      ["evaluate", fixture.model, "--data", fixture.data],
      ["train", "--model", "mnist-mlp", "--data", fixture.data],
    ] {
      let result = try TrainingCLI.run(arguments + ["-o", "-"])
      XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
      XCTAssertTrue(result.stderr.contains("-o - (standard output)"), result.stderr)
      XCTAssertEqual(result.stdout, "")
    }
  }

  /// A model file of `spec` with every weight zero, written into `folder`.
  static func untrainedModel(_ spec: String, in folder: TrainingScratchFolder) throws -> String {
    let parsed = try ModelSpec.parse(spec)
    let path = folder.path + "/untrained-\(UUID().uuidString).bin"
    try ModelFile(
      spec: parsed, metadata: TrainingMetadata(),
      parameters: parsed.parameterShapes.map {
        NamedTensor(name: $0.name, tensor: Tensor(zeros: $0.shape))
      }
    ).write(to: path)
    return path
  }

  /// The one rule for `-o` is stated in the top-level help and in each
  /// command's help.
  func testEveryHelpStatesWhatOutputMeans() throws {
    XCTAssertTrue(
      try TrainingCLI.run(["--help"]).stdout.flattened.contains(OutputRuleText.start))
    for command in ["filter", "train"] {
      let help = try TrainingCLI.run([command, "--help"]).stdout.flattened
      XCTAssertTrue(help.contains(OutputRuleText.start), "\(command) --help")
    }
    for command in ["featuremaps", "dump-weights", "report", "evaluate"] {
      let help = try TrainingCLI.run([command, "--help"]).stdout.flattened
      XCTAssertTrue(help.contains("-o names"), "\(command) --help: \(help)")
    }
  }
}

enum OutputRuleText {
  static let start =
    "-o names the file when a command writes one file, and the folder when it writes several"
}

extension String {
  /// Whitespace runs as single spaces: help text is wrapped to the terminal.
  var flattened: String { split(whereSeparator: \.isWhitespace).joined(separator: " ") }
}
