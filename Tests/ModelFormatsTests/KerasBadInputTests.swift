import Foundation
import Tensors
import XCTest

@testable import ModelFormats

/// Damaged and unusual Keras files: each is refused with the typed problem
/// that names what is wrong, and the message is one line naming the file.
final class KerasBadInputTests: XCTestCase {
  private func problem(
    _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line
  )
    -> KerasProblem?
  {
    do {
      let model = try KerasModel.decode(bytes, path: "m.keras")
      _ = try model.makeGraph()
      XCTFail("read and built", file: file, line: line)
      return nil
    } catch let error as ModelFileError {
      let message = "\(error)"
      XCTAssertTrue(message.hasPrefix("m.keras: "), message, file: file, line: line)
      XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
      guard case .keras(_, let problem) = error else {
        XCTFail("\(error)", file: file, line: line)
        return nil
      }
      return problem
    } catch {
      if let problem = error as? KerasProblem { return problem }
      XCTFail("untyped \(error)", file: file, line: line)
      return nil
    }
  }

  private func zip(_ entries: [(String, [UInt8])]) throws -> [UInt8] {
    ZipWriter.zip(entries.map { (name: $0.0, bytes: $0.1) })
  }

  /// The entries of the mnist-narrow `.keras` fixture (read by convviz's
  /// own zip reader), with the config changed by `edit` (on its JSON text).
  private func mnist(config edit: (String) -> String) throws -> [UInt8] {
    try fixture("mnist-narrow", config: edit)
  }

  /// The `.keras` fixture `name` with its config changed by `edit`.
  private func fixture(_ name: String, config edit: (String) -> String) throws -> [UInt8] {
    let bytes = try KerasModelTests.fixture(name, "model.keras")
    var entries: [(String, [UInt8])] = []
    for entry in try KerasArchive.directory(bytes) {
      var content = try KerasArchive.read(entry, in: bytes, limit: 1 << 30)
      if entry.name == "config.json" {
        content = Array(edit(String(decoding: content, as: UTF8.self)).utf8)
      }
      entries.append((entry.name, content))
    }
    return try zip(entries)
  }

  func testTruncatedAndCorruptHDF5IsRefusedInLibhdf5sWords() throws {
    let h5 = try KerasModelTests.fixture("mnist-narrow", "model.h5")
    for cut in [16, 600, h5.count / 2, h5.count - 1] {
      guard case .corruptHDF5(let reason) = problem(Array(h5.prefix(cut))) else {
        return XCTFail("cut at \(cut)")
      }
      XCTAssertFalse(reason.isEmpty)
    }
    var corrupt = h5
    for k in 8..<64 { corrupt[k] ^= 0x5A }
    XCTAssertNotNil(problem(corrupt).map { if case .corruptHDF5 = $0 { true } else { false } })
  }

  func testZipThatIsNotAKerasFileSaysSo() throws {
    let text = try zip([("notes.txt", Array("hello".utf8))])
    XCTAssertEqual(
      problem(text), .notKerasArchive(reason: "a zip without config.json (it holds notes.txt)"))
    let noWeights = try zip([("config.json", Array("{}".utf8))])
    XCTAssertEqual(
      problem(noWeights),
      .notKerasArchive(reason: "a zip with config.json but no model.weights.h5"))
    let keras = try KerasModelTests.fixture("branches", "model.keras")
    guard case .corruptArchive = problem(Array(keras.prefix(keras.count - 30))) else {
      return XCTFail("a truncated .keras")
    }
    XCTAssertTrue(
      "\(ModelFileError.keras(path: "x.keras", .notKerasArchive(reason: "r")))".hasPrefix(
        "x.keras: not a Keras model: r"))
  }

  /// Regression: ZIPFoundation's in-memory archive trapped on an offset past
  /// the end of the data (Tests/FuzzRegressions/keras); every offset is now
  /// checked first.
  func testZipOffsetsPastTheEndAreRefusedNotTrappedOn() throws {
    let good = try zip([("config.json", Array("{}".utf8)), ("model.weights.h5", [1, 2, 3])])
    let end = good.count - 22
    for (field, width) in [(16, 4), (12, 4)] {  // directory offset, directory size
      var bad = good
      for k in 0..<width { bad[end + field + k] = 0xF0 }
      guard case .corruptArchive = problem(bad) else { return XCTFail("field \(field)") }
    }
    // The first entry's local header offset, in its directory record.
    var bad = good
    let directory = Int(good[end + 16]) | Int(good[end + 17]) << 8
    for k in 0..<4 { bad[directory + 42 + k] = 0x7F }
    guard case .corruptArchive(let reason) = problem(bad) else { return XCTFail() }
    XCTAssertEqual(reason, "config.json: no local header where the directory says")
  }

  func testConfigNeedingAWeightTheFileLacksNamesLayerAndWeight() throws {
    // A third Dense, which the weights file does not hold.
    let extra = try mnist { text in
      guard
        var document = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
        var config = document["config"] as? [String: Any],
        var layers = config["layers"] as? [[String: Any]], var last = layers.last,
        var settings = last["config"] as? [String: Any]
      else { return text }
      settings["name"] = "dense_2"
      last["config"] = settings
      layers.append(last)
      config["layers"] = layers
      document["config"] = config
      let data = (try? JSONSerialization.data(withJSONObject: document)) ?? Data()
      return String(decoding: data, as: UTF8.self)
    }
    XCTAssertEqual(problem(extra), .missingWeight(layer: "dense_2", weight: "kernel"))
  }

  func testWeightShapeDisagreeingWithTheLayerIsNamed() throws {
    let wider = try mnist { $0.replacingOccurrences(of: "\"units\": 32", with: "\"units\": 33") }
    XCTAssertEqual(
      problem(wider),
      .weightShape(layer: "dense", weight: "kernel", expected: [1152, 33], found: [1152, 32]))
  }

  func testUnknownLayerClassIsRefusedWithItsClassAndTheSupportedList() throws {
    let layerNorm = try mnist {
      $0.replacingOccurrences(
        of: "\"class_name\": \"Dropout\"", with: "\"class_name\": \"LayerNormalization\"")
    }
    let found = problem(layerNorm)
    XCTAssertEqual(
      found,
      .unsupportedLayer(
        layer: "dropout", className: "LayerNormalization", supported: KerasModel.supportedLayers))
    let message = "\(ModelFileError.keras(path: "m.keras", found!))"
    XCTAssertTrue(
      message.hasPrefix(
        "m.keras: layer 'dropout' is a LayerNormalization, which convviz cannot run (it runs "
          + "Activation, Add"),
      message)
  }

  func testSettingsTheEngineLacksAreRefusedNamingLayerAndSetting() throws {
    let gelu = try mnist {
      $0.replacingOccurrences(of: "\"activation\": \"relu\"", with: "\"activation\": \"gelu\"")
    }
    guard case .unsupportedSetting("conv2d", "Conv2D", let reason) = problem(gelu) else {
      return XCTFail("gelu")
    }
    XCTAssertTrue(reason.hasPrefix("activation gelu (convviz runs hard_sigmoid, "), reason)
    let channelsFirst = try mnist {
      $0.replacingOccurrences(of: "\"channels_last\"", with: "\"channels_first\"")
    }
    XCTAssertEqual(
      problem(channelsFirst),
      .unsupportedSetting(
        layer: "conv2d", className: "Conv2D", reason: "data_format channels_first"))
    let notJSON = try mnist { String($0.dropLast(10)) }
    guard case .invalidConfig = problem(notJSON) else { return XCTFail("truncated JSON") }
  }

  /// Regression (CI's fuzz run): a 17 KB corrupt `.h5` made libhdf5
  /// allocate 8.3 GB over about 33 s while the child process read it. The
  /// child's memory is now bounded (`cvz_h5_read_in_child`): the file is
  /// refused in well under a second, the child never far past its limit.
  func testLibhdf5AllocatingWithoutBoundIsStoppedAtTheChildsLimit() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent(
        "FuzzRegressions/keras/libhdf5-memory-8gb.h5")
    let bytes = [UInt8](try Data(contentsOf: url))
    let allowance = KerasModel.readingAllowance(
      fileBytes: bytes.count, budget: .systemDefault())
    XCTAssertLessThan(allowance, 300 << 20)
    for budget in [nil, MemoryBudget(bytes: 64 << 20)] {
      let limit = budget.map(\.bytes) ?? allowance
      let start = Date()
      XCTAssertThrowsError(
        try KerasModel.decode(bytes, path: "m.h5", memory: budget ?? .systemDefault())
      ) {
        XCTAssertEqual(
          "\($0)",
          "m.h5: not a readable HDF5 (.h5) file: libhdf5 needed more than \(limit >> 20) MiB "
            + "reading it: the file is corrupt")
      }
      XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }
    // The largest child this process has waited for stayed near its
    // limit: its resident size, which starts as this process's, grew by
    // less than the limit and a margin.
    var children = rusage()
    var own = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &children)
    getrusage(RUSAGE_SELF.rawValue, &own)
    XCTAssertLessThan(children.ru_maxrss, own.ru_maxrss + (allowance >> 10) + (64 << 10))
  }

  /// The bound leaves real files alone: each fixture reads with the
  /// smallest budget the child is given.
  func testKerasFilesReadWithinASmallChildBudget() throws {
    for name in KerasModelTests.models {
      for file in ["model.keras", "model.h5"] {
        let bytes = try KerasModelTests.fixture(name, file)
        XCTAssertNoThrow(
          try KerasModel.decode(bytes, path: file, memory: MemoryBudget(bytes: 32 << 20)),
          "\(name)/\(file)")
      }
    }
  }

  /// Settings of the newer layers the engine cannot follow: each is one
  /// line naming the layer, its class and the setting.
  func testNewerLayersRefuseSettingsTheEngineLacks() throws {
    let cases: [(from: String, to: String, layer: String, className: String, reason: String)] = [
      ("\"threshold\": 0.0", "\"threshold\": 0.5", "leaky_relu", "ReLU", "threshold 0.5"),
      ("\"dims\": [2, 1, 3]", "\"dims\": [2, 2, 3]", "swap", "Permute", "dims"),
      (
        "\"target_shape\": [-1, 12]", "\"target_shape\": [-1, 7]", "rows", "Reshape", "target_shape"
      ),
      (
        "\"depth_multiplier\": 2", "\"depth_multiplier\": 0.5", "separable", "SeparableConv2D",
        "depth_multiplier 0.5"
      ),
      ("\"groups\": 2", "\"groups\": 3", "grouped", "Conv2D", "groups 3 for 4 channels"),
    ]
    for item in cases {
      let edited = try fixture("layers") { $0.replacingOccurrences(of: item.from, with: item.to) }
      guard case .unsupportedSetting(let layer, let className, let reason) = problem(edited) else {
        XCTFail(item.from)
        continue
      }
      XCTAssertEqual(layer, item.layer, item.from)
      XCTAssertEqual(className, item.className, item.from)
      XCTAssertTrue(reason.hasPrefix(item.reason), "\(item.from): \(reason)")
    }
    // Batch normalisation over another axis than the channels.
    let axis = try fixture("mobilenet") {
      $0.replacingOccurrences(of: "\"axis\": -1", with: "\"axis\": 1")
    }
    guard case .unsupportedSetting("stem_bn", "BatchNormalization", let reason) = problem(axis)
    else { return XCTFail("axis") }
    XCTAssertTrue(reason.hasPrefix("axis 1"), reason)
  }

  func testFilesOfAnotherKindAreNotTakenForKeras() {
    XCTAssertTrue(KerasModel.looksLikeKeras([0x50, 0x4B, 3, 4, 0]))
    XCTAssertTrue(KerasModel.looksLikeKeras(HDF5Object.signature))
    XCTAssertFalse(KerasModel.looksLikeKeras(Array("CVZMODEL".utf8)))
    XCTAssertFalse(KerasModel.looksLikeKeras([0x08, 0x07]))
    XCTAssertEqual(
      problem(Array("plain".utf8)),
      .notKerasArchive(reason: "neither a zip (.keras) nor an HDF5 (.h5) file"))
  }
}
