import Foundation
import ModelFormats
import XCTest

/// Every command that takes a model, on the committed exported fixture
/// (`model.onnx`) and on the `model.bin` it came from: the same results,
/// byte for byte where files are written.
final class ONNXModelCommandTests: XCTestCase {
  /// Tests/ModelFormatsTests/Fixtures/onnx/all-layers: a 28×28×1 model with
  /// every layer kind the export maps, and its export.
  static let fixture = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("ModelFormatsTests/Fixtures/onnx/all-layers").path
  static let bin = fixture + "/model.bin"
  static let onnx = fixture + "/model.onnx"
  static let samples = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("samples").path

  /// Every file under `folder`, by path relative to it, with its bytes.
  private func files(_ folder: String) throws -> [String: Data] {
    var result: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(atPath: folder)
    while let name = enumerator?.nextObject() as? String {
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isDirectory),
        !isDirectory.boolValue
      {
        result[name] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
      }
    }
    return result
  }

  /// `stdout` with the model's path replaced, so two runs can be compared.
  private func neutral(_ text: String, _ paths: String...) -> String {
    paths.reduce(text) { $0.replacingOccurrences(of: $1, with: "MODEL") }
  }

  func testPredictGivesTheSameClassesAndProbabilities() throws {
    let images = ["astronaut.png", "camera.png", "coffee.png"].map { Self.samples + "/" + $0 }
    let bin = try TrainingCLI.run(["predict", Self.bin] + images + ["--top", "10"])
    let onnx = try TrainingCLI.run(["predict", Self.onnx] + images + ["--top", "10"])
    XCTAssertEqual(bin.status, 0, bin.stderr)
    XCTAssertEqual(onnx.status, 0, onnx.stderr)
    XCTAssertEqual(onnx.stdout.split(separator: "\n").count, 3)
    XCTAssertEqual(onnx.stdout, bin.stdout)
  }

  func testPredictAndEvaluateDocumentsAreTheSameToTheLastDigit() throws {
    let images = ["astronaut.png", "coffee.png"].map { Self.samples + "/" + $0 }
    for format in ["json", "csv"] {
      let bin = try TrainingCLI.run(["predict", Self.bin] + images + ["--format", format])
      let onnx = try TrainingCLI.run(["predict", Self.onnx] + images + ["--format", format])
      XCTAssertEqual(onnx.status, 0, onnx.stderr)
      XCTAssertTrue(onnx.stdout.contains("probabilit"), onnx.stdout)
      XCTAssertEqual(neutral(onnx.stdout, Self.onnx), neutral(bin.stdout, Self.bin), format)
    }
    let folder = try TrainingScratchFolder()
    let data = try writeMNIST(in: folder, count: 20)
    var documents: [String] = []
    for model in [Self.bin, Self.onnx] {
      let result = try TrainingCLI.run([
        "evaluate", model, "--data", data, "--format", "json", "-o",
        folder.path + "/\(documents.count).png",
      ])
      XCTAssertEqual(result.status, 0, result.stderr)
      documents.append(neutral(result.stdout, model, folder.path + "/\(documents.count).png"))
    }
    XCTAssertTrue(documents[1].contains("\"loss\""), documents[1])
    XCTAssertEqual(documents[1], documents[0])
  }

  func testPredictNamesClassesFromMetadataOrLabels() throws {
    let trained = try VisualizationFixture.trained()
    let exported = trained.folder.path + "/named/bars.onnx"
    let export = try TrainingCLI.run(["export", trained.model, "-o", exported])
    XCTAssertEqual(export.status, 0, export.stderr)
    let bin = try TrainingCLI.run(["predict", trained.model, trained.photo, "--top", "2"])
    let onnx = try TrainingCLI.run(["predict", exported, trained.photo, "--top", "2"])
    XCTAssertEqual(onnx.status, 0, onnx.stderr)
    XCTAssertEqual(onnx.stdout, bin.stdout, "names and resize mode from the export's metadata")

    // The fixture stores no class names: numbers, or --labels.
    let folder = try TrainingScratchFolder()
    let names = (0..<10).map { "class\($0)" }.joined(separator: "\n") + "\n"
    let labels = try folder.write(Array(names.utf8), to: "labels.txt")
    let image = Self.samples + "/camera.png"
    let plain = try TrainingCLI.run(["predict", Self.onnx, image, "--top", "1"])
    XCTAssertTrue(plain.stdout.hasPrefix(image + ": 0 "), plain.stdout)
    let named = try TrainingCLI.run(["predict", Self.onnx, image, "--top", "1", "--labels", labels])
    XCTAssertEqual(named.status, 0, named.stderr)
    XCTAssertTrue(named.stdout.hasPrefix(image + ": class0 "), named.stdout)
    let short = try folder.write(Array("a\nb\n".utf8), to: "short.txt")
    let wrong = try TrainingCLI.run(["predict", Self.onnx, image, "--labels", short])
    XCTAssertEqual(wrong.status, 1)
    XCTAssertEqual(
      wrong.stderr, "convviz: error: \(short): 2 names, but the model has 10 class scores\n")
  }

  /// An MNIST folder of `count` 28×28 test images (a bar at a place that
  /// depends on the label) with train files of the same.
  private func writeMNIST(in folder: TrainingScratchFolder, count: Int) throws -> String {
    var images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, UInt8(count), 0, 0, 0, 28, 0, 0, 0, 28]
    var labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, UInt8(count)]
    for n in 0..<count {
      let label = n % 10
      for y in 0..<28 {
        for x in 0..<28 {
          images.append(x >= label * 2 && x < label * 2 + 4 ? 255 : UInt8((x * y + n) % 40))
        }
      }
      labels.append(UInt8(label))
    }
    for part in ["train", "t10k"] {
      try folder.write(images, to: "mnist/\(part)-images-idx3-ubyte")
      try folder.write(labels, to: "mnist/\(part)-labels-idx1-ubyte")
    }
    return folder.path + "/mnist"
  }

  func testEvaluateGivesTheSameNumbersAndPicture() throws {
    let folder = try TrainingScratchFolder()
    let data = try writeMNIST(in: folder, count: 60)
    let bin = try TrainingCLI.run([
      "evaluate", Self.bin, "--data", data, "--batch-size", "7", "-o", folder.path + "/bin.png",
    ])
    let onnx = try TrainingCLI.run([
      "evaluate", Self.onnx, "--data", data, "--batch-size", "7", "-o", folder.path + "/onnx.png",
    ])
    XCTAssertEqual(bin.status, 0, bin.stderr)
    XCTAssertEqual(onnx.status, 0, onnx.stderr)
    XCTAssertTrue(onnx.stdout.hasPrefix("\(Self.onnx): ONNX opset 13, from convviz\n"), onnx.stdout)
    let numbers = { (text: String) in
      text.split(separator: "\n").dropFirst().filter { !$0.hasPrefix("wrote") }
    }
    XCTAssertTrue(numbers(onnx.stdout).contains { $0.hasPrefix("loss ") }, onnx.stdout)
    XCTAssertEqual(numbers(onnx.stdout), numbers(bin.stdout))
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: folder.path + "/onnx.png")),
      try Data(contentsOf: URL(fileURLWithPath: folder.path + "/bin.png")))
  }

  func testDumpWeightsWritesIdenticalFiles() throws {
    let folder = try TrainingScratchFolder()
    for (model, name) in [(Self.bin, "bin"), (Self.onnx, "onnx")] {
      let result = try TrainingCLI.run(["dump-weights", model, "-o", folder.path + "/" + name])
      XCTAssertEqual(result.status, 0, result.stderr)
    }
    let bin = try files(folder.path + "/bin")
    XCTAssertEqual(bin.count, 8 + 1 + 1, "4 weighted layers' .npy, summary, filter grid")
    XCTAssertEqual(try files(folder.path + "/onnx"), bin)
    // The second convolution: row 1 of the spec, node 2 of the graph
    // (conv2d, conv2d/relu, conv2d_1), as each model's summary numbers them.
    for (model, layer, name) in [(Self.bin, "1", "bin1"), (Self.onnx, "2", "onnx1")] {
      let result = try TrainingCLI.run([
        "dump-weights", model, "--layer", layer, "-o", folder.path + "/" + name,
      ])
      XCTAssertEqual(result.status, 0, result.stderr)
    }
    XCTAssertNotNil(try files(folder.path + "/onnx1")["conv2d_1-filters.png"])
    XCTAssertEqual(try files(folder.path + "/onnx1"), try files(folder.path + "/bin1"))
  }

  func testFeatureMapsDrawsIdenticalPictures() throws {
    let folder = try TrainingScratchFolder()
    let photo = Self.samples + "/camera.png"
    let runs = [
      (Self.bin, [String](), "bin"), (Self.onnx, [], "onnx"),
      (Self.bin, ["--layer", "3", "--overlay"], "bin-pool"),
      (Self.onnx, ["--layer", "5", "--overlay"], "onnx-pool"),
    ]
    for (model, options, name) in runs {
      let result = try TrainingCLI.run(
        ["featuremaps", model, photo, "-o", folder.path + "/" + name] + options)
      XCTAssertEqual(result.status, 0, result.stderr)
    }
    let bin = try files(folder.path + "/bin")
    XCTAssertEqual(Set(bin.keys), ["camera-input.png", "camera-conv2d-featuremaps.png"])
    XCTAssertEqual(try files(folder.path + "/onnx"), bin)
    let pool = try files(folder.path + "/bin-pool")
    XCTAssertNotNil(pool["camera-average_pooling2d-overlay.png"], "\(pool.keys)")
    XCTAssertEqual(try files(folder.path + "/onnx-pool"), pool)
  }

  func testFeatureMapsOfANodeNamedWithASlashStayInTheFolder() throws {
    let folder = try TrainingScratchFolder()
    let result = try TrainingCLI.run([
      "featuremaps", Self.onnx, Self.samples + "/camera.png", "--layer", "1", "-o", folder.path,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertNotNil(try files(folder.path)["camera-conv2d_relu-featuremaps.png"])
  }

  func testReportShowsTheSameFiltersMapsAndEvaluation() throws {
    let folder = try TrainingScratchFolder()
    let data = try writeMNIST(in: folder, count: 30)
    var pages: [String] = []
    for model in [Self.bin, Self.onnx] {
      let page = folder.path + "/\(pages.count).html"
      let result = try TrainingCLI.run([
        "report", model, "--data", data, "--sample", Self.samples + "/camera.png", "-o", page,
      ])
      XCTAssertEqual(result.status, 0, result.stderr)
      pages.append(try String(contentsOfFile: page, encoding: .utf8))
    }
    func pictures(_ html: String) -> Set<Substring> {
      Set(html.split(separator: "\"").filter { $0.hasPrefix("data:image/png;base64,") })
    }
    let onnx = pictures(pages[1])
    XCTAssertTrue(pages[1].contains("conv2d/relu (Activation)"), "the graph's table")
    // Confusion matrix, errors, filters of 2 convolutions, input and 2 maps.
    XCTAssertGreaterThanOrEqual(onnx.count, 6)
    XCTAssertTrue(onnx.isSubset(of: pictures(pages[0])), "all but the training curves")
  }

  func testAnUnsupportedOpFailsEveryCommandInOneLineWritingNothing() throws {
    let folder = try TrainingScratchFolder()
    let model = ONNXModel(
      opset: 13,
      graph: ONNXGraph(
        name: "g",
        inputs: [
          ONNXValueInfo(name: "x", dims: [.named("N"), .fixed(1), .fixed(28), .fixed(28)])
        ],
        outputs: [ONNXValueInfo(name: "y", dims: nil)],
        nodes: [ONNXNode(name: "odd", opType: "Abs", inputs: ["x"], outputs: ["y"])],
        initializers: []))
    let path = try folder.write(model.encoded(), to: "abs.onnx")
    let data = try writeMNIST(in: folder, count: 10)
    let out = folder.path + "/out"
    let photo = Self.samples + "/camera.png"
    let commands = [
      ["predict", path, photo], ["evaluate", path, "--data", data, "-o", out + "/c.png"],
      ["dump-weights", path, "-o", out], ["featuremaps", path, photo, "-o", out],
      ["report", path, "--data", data, "-o", out + "/r.html"],
    ]
    for command in commands {
      let result = try TrainingCLI.run(command)
      XCTAssertEqual(result.status, 1, command[0])
      XCTAssertEqual(
        result.stderr,
        "convviz: error: \(path): node 'odd' has op Abs, which convviz cannot run (it runs "
          + ONNXModel.importableOperations.joined(separator: ", ") + ")\n", command[0])
      XCTAssertEqual(result.stdout, "", command[0])
      XCTAssertFalse(FileManager.default.fileExists(atPath: out), command[0])
    }
  }
}
