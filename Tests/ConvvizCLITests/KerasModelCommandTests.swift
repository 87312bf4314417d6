import Foundation
import XCTest

/// The commands that take a model, on the Keras fixtures saved by Keras
/// (Tests/ModelFormatsTests/Fixtures/keras): `.keras`, legacy `.h5` and a
/// weights-only file with `--architecture` give the same results, and
/// damaged files fail with one line and no output.
final class KerasModelCommandTests: XCTestCase {
  static let fixtures = repositoryRoot.appendingPathComponent(
    "Tests/ModelFormatsTests/Fixtures/keras"
  ).path
  static let mnist = fixtures + "/mnist-narrow"
  static let branches = fixtures + "/branches/model.keras"
  static let samples = repositoryRoot.appendingPathComponent("samples").path
  static let images = ["astronaut.png", "camera.png"].map { samples + "/" + $0 }

  private func neutral(_ text: String, _ path: String) -> String {
    text.replacingOccurrences(of: path, with: "MODEL")
  }

  func testSummaryShowsTheGraphWithBranchesAndWhereItComesFrom() throws {
    let result = try TrainingCLI.run(["summary", Self.branches])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("sum (Add)"), result.stdout)
    XCTAssertTrue(result.stdout.contains("left, right"), "the Add reads both branches")
    XCTAssertTrue(result.stdout.contains("join (Concatenate)"), result.stdout)
    XCTAssertTrue(result.stdout.contains("Total params: 1,232"), result.stdout)
    XCTAssertTrue(
      result.stdout.hasSuffix("Keras 3 .keras, Functional, saved by Keras 3.15.1\n"), result.stdout)
  }

  func testPredictJSONIsTheSameFromEveryFormOfTheModel() throws {
    var documents: [String] = []
    let forms: [[String]] = [
      [Self.mnist + "/model.keras"], [Self.mnist + "/model.h5"],
      [Self.mnist + "/model.weights.h5", "--architecture", Self.mnist + "/spec.txt"],
      [Self.mnist + "/legacy.weights.h5", "--architecture", Self.mnist + "/spec.txt"],
    ]
    for form in forms {
      let result = try TrainingCLI.run(["predict"] + form + Self.images + ["--format", "json"])
      XCTAssertEqual(result.status, 0, result.stderr)
      documents.append(neutral(result.stdout, form[0]))
    }
    let json = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(documents[0].utf8)) as? [String: Any])
    let images = try XCTUnwrap(json["images"] as? [[String: Any]])
    XCTAssertEqual(images.count, 2)
    for image in images {
      let probabilities = try XCTUnwrap(image["probabilities"] as? [Double])
      XCTAssertEqual(probabilities.count, 10)
      XCTAssertEqual(probabilities.reduce(0, +), 1, accuracy: 1e-5)
    }
    for document in documents.dropFirst() { XCTAssertEqual(document, documents[0]) }
  }

  func testFeatureMapsOfAnyNodeAreDrawn() throws {
    let folder = try ScratchFolder()
    let result = try TrainingCLI.run([
      "featuremaps", Self.branches, Self.images[0], "--layer", "6", "-o", folder.path,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(folder.contents(), ["astronaut-input.png", "astronaut-join-featuremaps.png"])
  }

  /// Keras models exported to ONNX (Sequential and Functional through the
  /// engine's graph, a weights-only file through its spec) compute the same
  /// bits as the Keras files they came from.
  func testExportedModelsPredictTheSame() throws {
    let folder = try ScratchFolder()
    let cases: [(model: [String], onnx: String)] = [
      ([Self.mnist + "/model.keras"], "mnist.onnx"), ([Self.branches], "branches.onnx"),
      (
        [Self.mnist + "/legacy.weights.h5", "--architecture", Self.mnist + "/spec.txt"],
        "weights.onnx"
      ),
    ]
    for (model, name) in cases {
      let onnx = folder.file(name)
      let export = try TrainingCLI.run(["export"] + model + ["-o", onnx])
      XCTAssertEqual(export.status, 0, export.stderr)
      let keras = try TrainingCLI.run(["predict"] + model + Self.images + ["--format", "csv"])
      let exported = try TrainingCLI.run(["predict", onnx] + Self.images + ["--format", "csv"])
      XCTAssertEqual(exported.status, 0, exported.stderr)
      XCTAssertEqual(exported.stdout.split(separator: "\n").count, 3, exported.stdout)
      XCTAssertEqual(exported.stdout, keras.stdout, name)
    }
    let unnamed = try TrainingCLI.run([
      "export", Self.mnist + "/model.weights.h5", "-o", folder.file("none.onnx"),
    ])
    XCTAssertEqual(unnamed.status, 1)
    XCTAssertTrue(unnamed.stderr.contains("name one with --architecture"), unnamed.stderr)
    XCTAssertEqual(folder.contents(), ["branches.onnx", "mnist.onnx", "weights.onnx"])
  }

  /// Regression: files on which libhdf5 1.10 itself crashes (found by
  /// fuzz-keras) end in one line, not a crash of convviz.
  func testFilesThatCrashLibhdf5AreOneLineErrors() throws {
    let folder = repositoryRoot.appendingPathComponent("Tests/FuzzRegressions/keras").path
    for name in ["libhdf5-crash-1.h5", "libhdf5-crash-2.h5"] {
      let path = folder + "/" + name
      let result = try TrainingCLI.run(["summary", path])
      XCTAssertEqual(result.status, 1, result.stderr)
      XCTAssertEqual(
        result.stderr,
        "convviz: error: \(path): not a readable HDF5 (.h5) file: libhdf5 crashed reading it "
          + "(signal 11): the file is corrupt\n")
      XCTAssertEqual(result.stdout, "")
    }
  }

  func testDamagedOrIncompleteFilesFailWithOneLineAndWriteNothing() throws {
    let folder = try ScratchFolder()
    let keras = try Data(contentsOf: URL(fileURLWithPath: Self.branches))
    try keras.prefix(keras.count / 2).write(to: URL(fileURLWithPath: folder.file("cut.keras")))
    let h5 = try Data(contentsOf: URL(fileURLWithPath: Self.mnist + "/model.h5"))
    try h5.prefix(4000).write(to: URL(fileURLWithPath: folder.file("cut.h5")))
    let cases: [(arguments: [String], message: String)] = [
      ([folder.file("cut.keras")], "not a readable zip (.keras) file"),
      ([folder.file("cut.h5")], "not a readable HDF5 (.h5) file"),
      (
        [Self.mnist + "/model.weights.h5"],
        "holds Keras weights without an architecture (saved by save_weights); "
          + "name one with --architecture PRESET|SPEC"
      ),
      (
        [Self.mnist + "/model.weights.h5", "--architecture", "mnist-cnn"],
        "layer 'conv2d' weight 'kernel' has shape [3, 3, 1, 8], the layer needs [3, 3, 1, 32]"
      ),
      (
        [Self.mnist + "/model.weights.h5", "--architecture", "cifar-cnn"],
        "the architecture's layer 'conv2d_2' has no weights in the file (it holds conv2d, "
          + "conv2d_1, dense, dense_1)"
      ),
    ]
    for (arguments, message) in cases {
      let out = folder.file("maps")
      let result = try TrainingCLI.run(
        ["featuremaps"] + arguments + [Self.images[0], "-o", out])
      XCTAssertEqual(result.status, 1, result.stderr)
      XCTAssertTrue(
        result.stderr.hasPrefix("convviz: error: \(arguments[0]): \(message)"), result.stderr)
      XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, result.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written")
    }
  }
}
