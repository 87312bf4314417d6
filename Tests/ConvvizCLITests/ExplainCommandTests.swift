import Foundation
import ImageCodecs
import XCTest

final class ExplainCommandTests: XCTestCase {
  /// The `.npy` header's shape and the float32 values after it.
  private func readNumPy(_ path: String) throws -> (shape: String, values: [Float]) {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
    let shape = header.components(separatedBy: "'shape': ")[1].components(separatedBy: ")")[0] + ")"
    let data = bytes[(10 + headerLength)...]
    let values = stride(from: data.startIndex, to: data.endIndex, by: 4).map { i in
      Float(
        bitPattern: UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16
          | UInt32(data[i + 3]) << 24)
    }
    return (shape, values)
  }

  func testEveryMethodWritesAnOverlayAndTheRawMap() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    for method in [
      "gradcam", "gradcam++", "scorecam", "layercam", "saliency", "smoothgrad",
      "integrated-gradients",
      "occlusion", "guided-backprop", "guided-gradcam",
    ] {
      let result = try TrainingCLI.run([
        "explain", fixture.model, fixture.photo, "--method", method, "--class", "1",
        "-o", out.path,
      ])
      XCTAssertEqual(result.status, 0, result.stderr)
      let stem = out.path + "/photo-\(method)-class1"
      XCTAssertTrue(result.stdout.contains("wrote \(stem).png"), result.stdout)
      let map = try readNumPy(stem + ".npy")
      XCTAssertEqual(map.shape, "(8, 8)", "the model's input size")
      XCTAssert(map.values.allSatisfy(\.isFinite))
      let picture = try ImageFile.read(stem + ".png")
      XCTAssertGreaterThan(picture.width, 256, "an 8×8 input drawn at 256 px with a colour bar")
    }
  }

  func testTopClassesAndLayersByRowOrName() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let top = try TrainingCLI.run([
      "explain", fixture.model, fixture.photo, "--top", "2", "-o", out.path,
    ])
    XCTAssertEqual(top.status, 0, top.stderr)
    XCTAssertEqual(
      Set(try FileManager.default.contentsOfDirectory(atPath: out.path)),
      [
        "photo-gradcam-class0.png", "photo-gradcam-class0.npy", "photo-gradcam-class1.png",
        "photo-gradcam-class1.npy", "photo-gradcam-classes.png",
      ])
    // Row 0 of `convviz summary` is the convolution with its ReLU: the default.
    let byRow = try TrainingCLI.run([
      "explain", fixture.model, fixture.photo, "--layer", "0", "--class", "0", "-o",
      out.path + "/row",
    ])
    XCTAssertEqual(byRow.status, 0, byRow.stderr)
    let linear = try TrainingCLI.run([
      "explain", fixture.model, fixture.photo, "--layer", "conv2d/linear", "--class", "0", "-o",
      out.path + "/linear",
    ])
    XCTAssertEqual(linear.status, 0, linear.stderr)
    XCTAssertEqual(
      try readNumPy(out.path + "/row/photo-gradcam-class0.npy").values,
      try readNumPy(out.path + "/photo-gradcam-class0.npy").values)
  }

  /// Several methods and classes: each picture, and one grid of them with
  /// a row per class and a column per method.
  func testSeveralMethodsAndClassesMakeOneGrid() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let result = try TrainingCLI.run([
      "explain", fixture.model, fixture.photo, "--method", "saliency", "--method", "occlusion",
      "--window", "3", "--top", "2", "--timings", "-o", out.path,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let timings = result.stderr.split(separator: "\n").filter { $0.hasPrefix("timing ") }
    XCTAssertEqual(timings.count, 5, "one forward, two methods for two classes: \(timings)")
    XCTAssertTrue(timings[0].hasPrefix("timing forward "), "\(timings)")
    let names = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
    for method in ["saliency", "occlusion"] {
      for k in 0..<2 {
        XCTAssertTrue(names.contains("photo-\(method)-class\(k).png"), "\(names)")
        XCTAssertTrue(names.contains("photo-\(method)-class\(k).npy"), "\(names)")
      }
    }
    XCTAssertEqual(names.count, 9, "\(names)")
    let one = try ImageFile.read(out.path + "/photo-saliency-class0.png")
    let grid = try ImageFile.read(out.path + "/photo-explain.png")
    XCTAssertGreaterThan(grid.width, 2 * one.width)
    XCTAssertGreaterThan(grid.height, 2 * one.height)
  }

  /// An exported ONNX model explains with the same numbers as its
  /// model.bin (the import computes the same bits), class names kept.
  func testAnONNXModelExplainsLikeItsModelFile() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let onnx = out.path + "/model.onnx"
    let export = try TrainingCLI.run(["export", fixture.model, "-o", onnx])
    XCTAssertEqual(export.status, 0, export.stderr)
    for method in ["gradcam", "integrated-gradients"] {
      var maps: [[Float]] = []
      for (model, folder) in [(fixture.model, "bin"), (onnx, "onnx")] {
        let result = try TrainingCLI.run([
          "explain", model, fixture.photo, "--method", method, "--class", "1", "-o",
          out.path + "/" + folder,
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        maps.append(try readNumPy(out.path + "/\(folder)/photo-\(method)-class1.npy").values)
      }
      XCTAssertEqual(maps[0], maps[1], method)
    }
    let bad = try TrainingCLI.run([
      "explain", onnx, fixture.photo, "--layer", "nope", "-o", out.path + "/never",
    ])
    XCTAssertEqual(bad.status, 64, bad.stderr)
    XCTAssertTrue(bad.stderr.contains("spatial layers: "), bad.stderr)
  }

  /// An image that cannot be read is one line; the others are explained.
  func testAnUnreadableImageDoesNotStopTheOthers() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let broken = try out.write([0x89, 0x50, 0x4E, 0x47], to: "broken.png")
    let result = try TrainingCLI.run([
      "explain", fixture.model, broken, fixture.photo, "--method", "saliency", "-o",
      out.path + "/maps",
    ])
    XCTAssertEqual(result.status, 1, result.stderr)
    let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("convviz: error:") }
    XCTAssertEqual(errors.count, 2, result.stderr)
    XCTAssertTrue(errors[0].contains("broken.png"), result.stderr)
    XCTAssertTrue(errors[1].contains("1 of 2 images failed"), result.stderr)
    let written = try FileManager.default.contentsOfDirectory(atPath: out.path + "/maps")
    XCTAssertEqual(written.count, 2, "\(written)")
    XCTAssertTrue(written.allSatisfy { $0.hasPrefix("photo-saliency-class") }, "\(written)")
  }

  /// Guided backpropagation through a tanh is refused before anything is
  /// written: one line naming the option and the node (exit 1).
  func testGuidedMethodsRefuseOpsWithoutAGuidedRule() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let model = try CommandConventionTests.untrainedModel(
      "input 8 8 1\nconv2d 4 3 tanh\nflatten\ndense 2 softmax\n", in: out)
    let target = out.path + "/never"
    for method in ["guided-backprop", "guided-gradcam"] {
      let result = try TrainingCLI.run([
        "explain", model, fixture.photo, "--method", "saliency", "--method", method, "-o",
        target,
      ])
      XCTAssertEqual(result.status, 1, result.stderr)
      let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("convviz: error:") }
      XCTAssertEqual(errors.count, 1, result.stderr)
      XCTAssertTrue(errors[0].contains("--method \(method) cannot pass node "), result.stderr)
      XCTAssertTrue(errors[0].contains("(tanh)"), result.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: target))
    }
    let saliency = try TrainingCLI.run([
      "explain", model, fixture.photo, "--method", "saliency", "-o", target,
    ])
    XCTAssertEqual(saliency.status, 0, saliency.stderr)
  }

  func testBadInputIsOneLineAndWritesNothing() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    let other = out.path + "/small.png"
    try ImageFile.write(
      Image(width: 4, height: 4, layout: .gray, samples: [UInt8](repeating: 9, count: 16)),
      to: other)
    let target = out.path + "/never"
    for (arguments, status, message) in [
      (["--layer", "nope"], 64, "spatial layers: conv2d/linear, conv2d, max_pooling2d"),
      (["--layer", "2"], 64, "--layer 2 has output (36), not (channels, height, width)"),
      (["--class", "2"], 64, "--class 2 is out of range: the model has classes 0…1"),
      (["--class", "cat"], 64, "--class cat is not a class of the model"),
      (["--method", "integrated-gradients", "--steps", "0"], 64, "--steps must be at least 1"),
      (["--method", "smoothgrad", "--samples", "-1"], 64, "--samples must be at least 1"),
      (["--method", "occlusion", "--window", "0"], 64, "--window must be at least 1"),
      (["--steps", "5"], 64, "--steps applies to --method integrated-gradients"),
      (["--method", "guided-backprop", "--layer", "0"], 64, "--layer applies to --method"),
      (["--class", "0", "--top", "2"], 64, "give --class or --top, not both"),
      (["--method", "fancy"], 64, "gradcam++"),
      (
        ["--method", "integrated-gradients", "--baseline", other], 1,
        "the baseline is 4×4; the model takes 8×8 images"
      ),
      (["--method", "integrated-gradients", "--baseline", "grey"], 64, "not black, blur or"),
    ] as [([String], Int32, String)] {
      let result = try TrainingCLI.run(
        ["explain", fixture.model, fixture.photo, "-o", target] + arguments)
      XCTAssertEqual(result.status, status, "\(arguments): \(result.stderr)")
      XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
      XCTAssertEqual(
        result.stderr.split(separator: "\n").filter { $0.hasPrefix("convviz: error:") }.count, 1,
        result.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: target), "\(arguments)")
    }
  }
}
