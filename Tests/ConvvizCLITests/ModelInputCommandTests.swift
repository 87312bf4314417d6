import Foundation
import ImageCodecs
import ModelFormats
import Tensors
import XCTest

/// The model-input options (`--mean`, `--std`, `--scale`,
/// `--channel-order`, `--preprocess`, `--size`), the preprocessing ONNX
/// metadata records, and `.npy` inputs, seen through a model whose 12
/// outputs are its input: `predict --format json` prints the exact tensor
/// the model was fed.
final class ModelInputCommandTests: XCTestCase {
  /// A 2×2 RGB picture: (10, 20, 30) (200, 100, 50) / (0, 255, 128) (64, 32, 16).
  static let pixels: [UInt8] = [10, 20, 30, 200, 100, 50, 0, 255, 128, 64, 32, 16]
  /// The same in planes R, G, B (ONNX's C, H, W order).
  static let planes: [Float] = [10, 200, 0, 64, 20, 100, 255, 32, 30, 50, 128, 16]

  /// An ONNX model, input (N, 3, H, W), Flatten then a Gemm with identity
  /// weights: its 12 outputs are its input in (C, H, W) order. `open`
  /// leaves H and W symbolic.
  static func identityModel(
    _ path: String, open: Bool = false, metadata: [ONNXMetadataEntry] = []
  ) throws {
    var identity = [Float](repeating: 0, count: 144)
    for i in 0..<12 { identity[i * 13] = 1 }
    let side: [ONNXValueInfo.Dimension] =
      open ? [.named("H"), .named("W")] : [.fixed(2), .fixed(2)]
    let graph = ONNXGraph(
      name: "identity",
      inputs: [ONNXValueInfo(name: "x", dims: [.named("N"), .fixed(3)] + side)],
      outputs: [ONNXValueInfo(name: "y", dims: [.named("N"), .fixed(12)])],
      nodes: [
        ONNXNode(
          name: "flatten", opType: "Flatten", inputs: ["x"], outputs: ["flat"],
          attributes: [ONNXAttribute("axis", .int(1))]),
        ONNXNode(name: "gemm", opType: "Gemm", inputs: ["flat", "w", "b"], outputs: ["y"]),
      ],
      initializers: [
        ONNXTensor(name: "w", Tensor(shape: Shape(12, 12), storage: identity)),
        ONNXTensor(name: "b", Tensor(zeros: Shape(12))),
      ])
    try ONNXModel(opset: 13, metadata: metadata, graph: graph).write(to: path)
  }

  private func picture(in folder: TrainingScratchFolder, _ name: String = "p.png") throws -> String
  {
    let path = folder.path + "/" + name
    try ImageFile.write(Image(width: 2, height: 2, layout: .rgb, samples: Self.pixels), to: path)
    return path
  }

  /// The `scores` of every image of a `predict --format json` run.
  private func scores(_ arguments: [String]) throws -> [[Double]] {
    let run = try TrainingCLI.run(["predict"] + arguments + ["--format", "json"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let document = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
    let images = try XCTUnwrap(document["images"] as? [[String: Any]])
    return try images.map { try XCTUnwrap($0["scores"] as? [Double]) }
  }

  private func assertClose(
    _ values: [Double], _ expected: [Float], accuracy: Double, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(values.count, expected.count, file: file, line: line)
    for (k, (value, want)) in zip(values, expected).enumerated() {
      XCTAssertEqual(value, Double(want), accuracy: accuracy, "value \(k)", file: file, line: line)
    }
  }

  func testFlagsGiveTheHandComputedTensor() throws {
    let folder = try TrainingScratchFolder()
    let model = folder.path + "/id.onnx"
    try Self.identityModel(model)
    let image = try picture(in: folder)
    // Default: b / 255.
    assertClose(try scores([model, image])[0], Self.planes.map { $0 / 255 }, accuracy: 1e-7)
    // [0, 255], BGR, then (x − mean) / std per channel: B first.
    let caffe = try scores([
      model, image, "--scale", "255", "--channel-order", "bgr", "--mean", "100,110,120",
      "--std", "2,4,8",
    ])[0]
    let bgr = Array(Self.planes[8..<12]) + Self.planes[4..<8] + Self.planes[0..<4]
    let expected = bgr.enumerated().map { k, v in
      (v - [100, 110, 120][k / 4]) / [2, 4, 8][k / 4]
    }
    assertClose(caffe, expected, accuracy: 1e-4)
    // The preset's mean and std (a 2×2 input: Resize(2) changes nothing).
    let imagenet = try scores([model, image, "--preprocess", "imagenet"])[0]
    let mean: [Float] = [0.485, 0.456, 0.406]
    let std: [Float] = [0.229, 0.224, 0.225]
    assertClose(
      imagenet, Self.planes.enumerated().map { k, v in (v / 255 - mean[k / 4]) / std[k / 4] },
      accuracy: 1e-5)
  }

  func testMetadataIsReadAndFlagsOverrideIt() throws {
    let folder = try TrainingScratchFolder()
    let image = try picture(in: folder)
    let plain = folder.path + "/plain.onnx"
    try Self.identityModel(plain)
    let recorded = Preprocessing(
      scale: .byte, mean: [100, 110, 120], std: [2, 4, 8], channelOrder: .bgr)
    let tagged = folder.path + "/tagged.onnx"
    try Self.identityModel(
      tagged, metadata: recorded.metadataEntries.map { ONNXMetadataEntry($0.key, $0.value) })
    let flags = [
      "--scale", "255", "--channel-order", "bgr", "--mean", "100,110,120", "--std", "2,4,8",
    ]
    XCTAssertEqual(try scores([tagged, image]), try scores([plain, image] + flags))
    // Flags win over the file.
    XCTAssertEqual(
      try scores([
        tagged, image, "--scale", "1", "--channel-order", "rgb", "--mean", "0", "--std", "1",
      ]),
      try scores([plain, image]))
    let damaged = folder.path + "/damaged.onnx"
    try Self.identityModel(damaged, metadata: [ONNXMetadataEntry("convviz.std", "1,0,1")])
    let refused = try TrainingCLI.run(["predict", damaged, image])
    XCTAssertEqual(refused.status, 1)
    XCTAssertEqual(
      refused.stderr,
      "convviz: error: \(damaged): malformed model file: metadata convviz.std is '1,0,1', "
        + "expected non-zero numbers such as "
        + "0.229,0.224,0.225\n")
  }

  func testOpenInputSizeNeedsSize() throws {
    let folder = try TrainingScratchFolder()
    let image = try picture(in: folder)
    let open = folder.path + "/open.onnx"
    try Self.identityModel(open, open: true)
    let refused = try TrainingCLI.run(["predict", open, image])
    XCTAssertEqual(refused.status, 1)
    XCTAssertEqual(
      refused.stderr,
      "convviz: error: \(open): the model leaves its input height and width open; give --size HxW\n"
    )
    assertClose(
      try scores([open, image, "--size", "2x2"])[0], Self.planes.map { $0 / 255 }, accuracy: 1e-7)
    let fixed = folder.path + "/fixed.onnx"
    try Self.identityModel(fixed)
    for (arguments, message) in [
      (["--size", "3x3"], "--size 3x3, but \(fixed) fixes its input at 2x2"),
      (["--mean", "1,2"], "\(fixed): --mean has 2 values; the model takes 3 channels"),
      (["--size", "0x2"], "--size must be HxW with positive sizes"),
      (["--std", "1,0,1"], "--std must not hold 0"),
    ] {
      let run = try TrainingCLI.run(["predict", fixed, image] + arguments)
      XCTAssertEqual(run.status, 64, "\(arguments): \(run.stderr)")
      XCTAssertTrue(run.stderr.contains(message), run.stderr)
    }
  }

  /// Two samples in (N, C, H, W) order, values k + 0.25.
  static let samples: [Float] = (0..<24).map { Float($0) + 0.25 }

  func testNumPyInputsAreFedAsGiven() throws {
    let folder = try TrainingScratchFolder()
    let model = folder.path + "/id.onnx"
    try Self.identityModel(model)
    let nchw = try folder.write(
      NumPyFile.encode(shape: [2, 3, 2, 2], values: Self.samples), to: "x.npy")
    let fed = try scores([model, nchw])
    assertClose(fed[0], Array(Self.samples[0..<12]), accuracy: 0)
    assertClose(fed[1], Array(Self.samples[12..<24]), accuracy: 0)
    // The same tensor as (N, H, W, C) with --layout nhwc.
    var nhwc = [Float](repeating: 0, count: 24)
    for n in 0..<2 {
      for c in 0..<3 {
        for p in 0..<4 { nhwc[n * 12 + p * 3 + c] = Self.samples[n * 12 + c * 4 + p] }
      }
    }
    let channelsLast = try folder.write(
      NumPyFile.encode(shape: [2, 2, 2, 3], values: nhwc), to: "hwc.npy")
    XCTAssertEqual(try scores([model, channelsLast, "--layout", "nhwc"]), fed)
    // Softmax of 0.25, 1.25, …, 11.25: the largest is (1 − 1/e) / (1 − e⁻¹²).
    let text = try TrainingCLI.run(["predict", model, nchw, "--top", "1"])
    XCTAssertEqual(text.stdout.split(separator: "\n").first, "\(nchw)[0]: 11 0.6321")
    // Preprocessing flags do not apply to tensors.
    let mixed = try TrainingCLI.run(["predict", model, nchw, "--mean", "0.5"])
    XCTAssertEqual(mixed.status, 64, mixed.stderr)
  }

  /// `--batch-size` splits the forward passes without changing a number;
  /// `--timings` prints the load, one line per pass and then the steps'
  /// profile (`timing op` lines) on stderr only.
  func testBatchSizeAndTimings() throws {
    let folder = try TrainingScratchFolder()
    let model = folder.path + "/id.onnx"
    try Self.identityModel(model)
    let x = try folder.write(
      NumPyFile.encode(shape: [2, 3, 2, 2], values: Self.samples), to: "x.npy")
    let whole = try TrainingCLI.run(["predict", model, x, x, "--format", "json"])
    let split = try TrainingCLI.run(
      ["predict", model, x, x, "--format", "json", "--batch-size", "3", "--timings"])
    XCTAssertEqual(split.status, 0, split.stderr)
    XCTAssertEqual(split.stdout, whole.stdout)
    let timings = split.stderr.split(separator: "\n").filter { $0.hasPrefix("timing ") }
    XCTAssertGreaterThan(timings.count, 4, split.stderr)
    XCTAssertTrue(timings[4...].allSatisfy { $0.hasPrefix("timing op ") }, split.stderr)
    XCTAssertTrue(timings[0].hasPrefix("timing load "), split.stderr)
    XCTAssertTrue(timings[1].hasPrefix("timing kernels oneDNN"), split.stderr)
    XCTAssertTrue(timings[1].contains("OpenBLAS "), split.stderr)
    XCTAssertTrue(timings[2].hasPrefix("timing forward ") && timings[2].hasSuffix("(batch of 3)"))
    XCTAssertTrue(timings[3].hasSuffix("(batch of 1)"), split.stderr)
    let text = try TrainingCLI.run(["predict", model, x, x, "--batch-size", "1"])
    XCTAssertEqual(
      text.stdout, try TrainingCLI.run(["predict", model, x, x]).stdout)
    XCTAssertEqual(try TrainingCLI.run(["predict", model, x, "--batch-size", "0"]).status, 64)
    // One thread gives the same numbers.
    XCTAssertEqual(
      try TrainingCLI.run(["predict", model, x, x, "--format", "json", "--threads", "1"]).stdout,
      whole.stdout)
    XCTAssertEqual(try TrainingCLI.run(["predict", model, x, "--threads", "0"]).status, 64)
  }

  func testBadNumPyFilesAreOneLineNamingTheFile() throws {
    let folder = try TrainingScratchFolder()
    let model = folder.path + "/id.onnx"
    try Self.identityModel(model)
    let good = NumPyFile.encode(shape: [1, 3, 2, 2], values: Array(Self.samples[0..<12]))
    func replacing(_ old: String, with new: String) throws -> [UInt8] {
      let target = Array(old.utf8)
      let at = try XCTUnwrap(
        good.indices.first { Array(good[$0..<min($0 + target.count, good.count)]) == target })
      var bytes = good
      bytes.replaceSubrange(at..<(at + target.count), with: Array(new.utf8))
      return bytes
    }
    let fortran = try replacing("False", with: "True ")
    let integers = try replacing("<f4", with: "<i4")
    let cases: [(String, [UInt8], String)] = [
      ("magic.npy", Array("not numpy at all".utf8), "not a NumPy .npy file"),
      ("short.npy", Array(good.dropLast(5)), "truncated"),
      ("fortran.npy", fortran, "Fortran order"),
      ("ints.npy", integers, "dtype int32 is not an input type"),
      (
        "shape.npy", NumPyFile.encode(shape: [1, 2, 2, 3], values: Array(Self.samples[0..<12])),
        "shape (1, 2, 2, 3) does not fit the model's input: expected (N, 3, 2, 2)"
      ),
    ]
    for (name, bytes, problem) in cases {
      let path = try folder.write(bytes, to: name)
      let run = try TrainingCLI.run(["predict", model, path])
      XCTAssertEqual(run.status, 1, "\(name): \(run.stderr)")
      XCTAssertTrue(run.stderr.hasPrefix("convviz: error: \(path): "), run.stderr)
      XCTAssertTrue(run.stderr.contains(problem), run.stderr)
      XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
      XCTAssertEqual(run.stdout, "")
    }
  }

  /// The identity model ends without softmax: its outputs are logits, and
  /// the loss is log Σ exp(x) − x[label], by hand.
  func testEvaluateTakesNumPyInputsAndLabels() throws {
    let folder = try TrainingScratchFolder()
    let model = folder.path + "/id.onnx"
    try Self.identityModel(model)
    let inputs = try folder.write(
      NumPyFile.encode(shape: [2, 3, 2, 2], values: Self.samples.map { $0 / 8 }), to: "x.npy")
    // int64 labels 11 and 3.
    let labelBytes = try folder.write(int64NumPy([11, 3]), to: "y.npy")
    let run = try TrainingCLI.run([
      "evaluate", model, "--data", inputs, "--labels-npy", labelBytes, "--format", "json",
      "-o", folder.path + "/confusion.png",
    ])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stderr.contains("softmax cross-entropy"), run.stderr)
    let document = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    var loss = 0.0
    for (n, label) in [11, 3].enumerated() {
      let logits = Self.samples[(n * 12)..<((n + 1) * 12)].map { Double($0 / 8) }
      loss += log(logits.map { exp($0) }.reduce(0, +)) - logits[label]
    }
    XCTAssertEqual(try XCTUnwrap(document["loss"] as? Double), loss / 2, accuracy: 1e-5)
    XCTAssertEqual(document["accuracy"] as? Double, 0.5, "each sample's largest output is 11")
    let first = try TrainingCLI.run([
      "evaluate", model, "--data", inputs, "--labels-npy", labelBytes, "--limit", "1",
      "--format", "json", "-o", folder.path + "/confusion.png",
    ])
    XCTAssertEqual(first.status, 0, first.stderr)
    let one = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(one["samples"] as? Int, 1)
    XCTAssertEqual(one["accuracy"] as? Double, 1)

    for (arguments, status, message) in [
      ([] as [String], 64, "give --labels-npy FILE"),
      (["--labels-npy", try folder.write(int64NumPy([1]), to: "one.npy")], 1, "1 labels for 2"),
      (["--labels-npy", try folder.write(int64NumPy([1, 12]), to: "big.npy")], 1, "label 12"),
      (["--labels-npy", inputs], 1, "is not an integer type"),
      (["--labels-npy", labelBytes, "--mean", "1"], 64, "fed as they are"),
    ] {
      let refused = try TrainingCLI.run(
        ["evaluate", model, "--data", inputs, "-o", folder.path + "/c.png"] + arguments)
      XCTAssertEqual(refused.status, Int32(status), "\(arguments): \(refused.stderr)")
      XCTAssertTrue(refused.stderr.contains(message), refused.stderr)
    }
  }

  /// An image folder through `--mean`/`--std` and the same values, worked
  /// out by hand, as `.npy` give the same evaluation: the data-set batches
  /// are preprocessed as single images are.
  func testEvaluateOnImagesAppliesThePreprocessing() throws {
    let folder = try TrainingScratchFolder()
    let model = folder.path + "/id.onnx"
    try Self.identityModel(model)
    try FileManager.default.createDirectory(
      atPath: folder.path + "/data/a", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      atPath: folder.path + "/data/b", withIntermediateDirectories: true)
    _ = try picture(in: folder, "data/a/one.png")
    _ = try picture(in: folder, "data/b/two.png")
    let mean: [Float] = [0.5, 0.25, 0.75]
    let std: [Float] = [0.5, 2, 0.25]
    let normalized = Self.planes.enumerated().map { k, v in (v / 255 - mean[k / 4]) / std[k / 4] }
    let inputs = try folder.write(
      NumPyFile.encode(shape: [2, 3, 2, 2], values: normalized + normalized), to: "x.npy")
    let labels = try folder.write(int64NumPy([0, 1]), to: "y.npy")
    func evaluate(_ arguments: [String]) throws -> [String: Any] {
      let run = try TrainingCLI.run(
        ["evaluate", model, "--format", "json", "-o", folder.path + "/c.png"] + arguments)
      XCTAssertEqual(run.status, 0, run.stderr)
      return try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }
    let images = try evaluate([
      "--data", folder.path + "/data", "--mean", "0.5,0.25,0.75", "--std", "0.5,2,0.25",
    ])
    let tensors = try evaluate(["--data", inputs, "--labels-npy", labels])
    let loss = try XCTUnwrap(tensors["loss"] as? Double)
    XCTAssertEqual(try XCTUnwrap(images["loss"] as? Double), loss, accuracy: 1e-6)
    let plain = try evaluate(["--data", folder.path + "/data"])
    XCTAssertNotEqual(try XCTUnwrap(plain["loss"] as? Double), loss, accuracy: 1e-3)
  }

  private func int64NumPy(_ values: [Int64]) -> [UInt8] {
    var header = "{'descr': '<i8', 'fortran_order': False, 'shape': (\(values.count),), }"
    header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0]
    bytes += Array(header.utf8)
    for v in values { bytes += withUnsafeBytes(of: v.littleEndian, Array.init) }
    return bytes
  }

  /// featuremaps, explain and report take the same options and check them
  /// against the model the same way (the all-layers fixture is 1-channel).
  func testEveryCommandThatFeedsImagesTakesTheOptions() throws {
    let fixture = ONNXModelCommandTests.fixture + "/model.onnx"
    let photo = ONNXModelCommandTests.samples + "/camera.png"
    let folder = try TrainingScratchFolder()
    for command in [
      ["featuremaps", fixture, photo, "-o", folder.path],
      ["explain", fixture, photo, "-o", folder.path],
      ["report", fixture, "--sample", photo, "-o", folder.path + "/r.html"],
      ["predict", fixture, photo],
    ] {
      let refused = try TrainingCLI.run(command + ["--mean", "0.1,0.2,0.3"])
      XCTAssertEqual(refused.status, 64, "\(command[0]): \(refused.stderr)")
      XCTAssertTrue(
        refused.stderr.contains("--mean has 3 values; the model takes 1 channel (give 1)"),
        refused.stderr)
      let accepted = try TrainingCLI.run(command + ["--mean", "0.5", "--std", "0.25"])
      XCTAssertEqual(accepted.status, 0, "\(command[0]): \(accepted.stderr)")
    }
    // featuremaps runs the photo at its own size.
    let sized = try TrainingCLI.run(
      ["featuremaps", fixture, photo, "-o", folder.path, "--resize", "fill"])
    XCTAssertEqual(sized.status, 64, sized.stderr)
    // The values reach the model: other maps than without the flags.
    let plain = try TrainingCLI.run(["featuremaps", fixture, photo, "-o", folder.path + "/plain"])
    XCTAssertEqual(plain.status, 0, plain.stderr)
    let normalized = try TrainingCLI.run(
      [
        "featuremaps", fixture, photo, "-o", folder.path + "/normalized", "--mean", "0.5", "--std",
        "0.25",
      ])
    XCTAssertEqual(normalized.status, 0, normalized.stderr)
    // The input picture shows the photo, not the normalized values.
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: folder.path + "/plain/camera-input.png")),
      try Data(contentsOf: URL(fileURLWithPath: folder.path + "/normalized/camera-input.png")))
    let name = "camera-conv2d-featuremaps.png"
    XCTAssertNotEqual(
      try Data(contentsOf: URL(fileURLWithPath: folder.path + "/plain/" + name)),
      try Data(contentsOf: URL(fileURLWithPath: folder.path + "/normalized/" + name)))
  }
}
