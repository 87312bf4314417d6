import Engine
import ModelFormats
import Training
import ImageFilters
import Datasets
import Foundation
import ImageCodecs
import XCTest

/// Replays every fuzz corpus file (Fuzz/corpus/<target>/) and every input
/// that once broke a target (Tests/FuzzRegressions/<target>/) through the
/// code its fuzz target exercises (Fuzz/Sources/fuzz-<target>). Each must
/// end in a value or the module's typed error; a crash fails the whole run,
/// and the memory check catches the allocation bugs fuzzing found. A
/// missing or empty folder fails, so the replay cannot silently run nothing.
final class FuzzRegressionTests: XCTestCase {
  static let corpus = repositoryRoot.appendingPathComponent("Fuzz/corpus")
  static let regressions = repositoryRoot.appendingPathComponent("Tests/FuzzRegressions")

  /// Each fuzz target and the replay of one input through its code.
  static let replays: [(target: String, replay: @Sendable (URL) throws -> Void)] = [
    ("png", replayImage), ("jpeg", replayImage), ("pnm", replayImage),
    ("model-file", replayModelFile),
    ("idx", replayIDX), ("cifar", replayCIFAR), ("image-folder", replayImageFolder),
    ("kernel-spec", replayKernelSpec), ("model-spec", replayModelSpec), ("onnx", replayONNX),
    ("keras", replayKeras),
  ]

  /// The files of `folder`, sorted; nil when the folder does not exist.
  static func files(in folder: URL) -> [URL]? {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
      return nil
    }
    return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted()
      .map { folder.appendingPathComponent($0) }
  }

  func testEveryFuzzTargetIsReplayed() throws {
    let sources = repositoryRoot.appendingPathComponent("Fuzz/Sources")
    let targets = try FileManager.default.contentsOfDirectory(atPath: sources.path)
      .filter { $0.hasPrefix("fuzz-") }.map { String($0.dropFirst("fuzz-".count)) }
    XCTAssertEqual(Set(targets), Set(Self.replays.map(\.target)))
    let script = try String(
      contentsOf: repositoryRoot.appendingPathComponent("scripts/fuzz.sh"), encoding: .utf8)
    for target in targets {
      XCTAssertTrue(script.contains(" \(target)"), "fuzz.sh lacks \(target)")
    }
  }

  func testEveryRegressionFolderBelongsToATargetAndHoldsInputs() throws {
    let folders = try FileManager.default.contentsOfDirectory(atPath: Self.regressions.path)
      .filter { $0 != "README.md" }
    XCTAssertFalse(folders.isEmpty)
    for folder in folders {
      XCTAssertTrue(Self.replays.contains { $0.target == folder }, "no fuzz target \(folder)")
      let inputs = Self.files(in: Self.regressions.appendingPathComponent(folder)) ?? []
      XCTAssertFalse(inputs.isEmpty, "Tests/FuzzRegressions/\(folder) is empty")
    }
  }

  func testEveryCorpusAndRegressionInputReplays() throws {
    var replayed = 0
    for (target, replay) in Self.replays {
      guard let seeds = Self.files(in: Self.corpus.appendingPathComponent(target)) else {
        XCTFail("Fuzz/corpus/\(target) is missing")
        continue
      }
      XCTAssertFalse(seeds.isEmpty, "Fuzz/corpus/\(target) is empty")
      let found = Self.files(in: Self.regressions.appendingPathComponent(target)) ?? []
      for url in seeds + found {
        let before = VirtualMemory.now()
        XCTAssertNoThrow(try replay(url), "\(target): \(url.lastPathComponent)")
        // Untouched allocations do not show in the resident size, but they do
        // raise the peak virtual size; it can only be read when the earlier
        // peak is low enough not to hide a new one.
        if before.peak < before.size + VirtualMemory.budget {
          XCTAssertLessThan(
            VirtualMemory.now().peak, before.size + VirtualMemory.budget,
            "\(target): \(url.lastPathComponent) allocated over 512 MiB")
        }
        replayed += 1
      }
    }
    XCTAssertGreaterThanOrEqual(replayed, 40)
  }

  // MARK: Replays, one per fuzz target (each throws only for a wrong result)

  struct WrongResult: Error, CustomStringConvertible {
    var description: String
  }

  /// Runs `body`; errors of `type` are an accepted outcome, others are not.
  static func expecting<E: Error>(_ type: E.Type, _ body: () throws -> Void) throws {
    do {
      try body()
    } catch is E {
    } catch {
      throw WrongResult(description: "untyped error \(error)")
    }
  }

  /// fuzz-png, fuzz-jpeg, fuzz-pnm: strict and lenient decodes.
  static func replayImage(_ url: URL) throws {
    let bytes = [UInt8](try Data(contentsOf: url))
    for lenient in [false, true] {
      try expecting(CodecError.self) {
        let options = DecodeOptions(pixelLimit: 4_000_000, lenient: lenient)
        let image = try ImageFile.decode(bytes, name: url.lastPathComponent, options: options)
        guard image.width > 0, image.height > 0,
          image.samples8.count + image.samples16.count
            == image.width * image.height * image.channels
        else { throw WrongResult(description: "inconsistent image") }
      }
    }
  }

  static func replayModelFile(_ url: URL) throws {
    let bytes = [UInt8](try Data(contentsOf: url))
    try expecting(ModelFileError.self) {
      let file = try ModelFile.decode(bytes, path: url.path)
      guard try ModelFile.decode(file.encoded(), path: url.path) == file else {
        throw WrongResult(description: "re-encoding changed the model file")
      }
    }
  }

  static func replayONNX(_ url: URL) throws {
    let bytes = [UInt8](try Data(contentsOf: url))
    // The wire scanner reads as swift-protobuf's whole-message decode does.
    let scanned = Result { () throws(ModelFileError) in try ONNXModel.decode(bytes, path: "m") }
    let whole = Result { () throws(ModelFileError) in
      try ONNXModel.decode(bytes, path: "m", parsing: .wholeMessage)
    }
    switch (scanned, whole) {
    case (.success(let a), .success(let b)) where a.encoded() == b.encoded(): break
    case (.failure(let a), .failure(let b)) where a == b: break
    default:
      throw WrongResult(description: "scanner and whole message differ: \(scanned) / \(whole)")
    }
    try expecting(ModelFileError.self) {
      let model = try ONNXModel.decode(bytes, path: url.path)
      let once = model.encoded()
      guard try ONNXModel.decode(once, path: url.path).encoded() == once else {
        throw WrongResult(description: "an ONNX model convviz wrote does not read back the same")
      }
      try expecting(ONNXProblem.self) { _ = try model.makeGraph() }
    }
    try expecting(ONNXProblem.self) { _ = try ONNXTensor.decode(serialized: bytes) }
  }

  /// fuzz-keras: read, build the graph, convert to a spec, fit the MNIST
  /// preset.
  static func replayKeras(_ url: URL) throws {
    let bytes = [UInt8](try Data(contentsOf: url))
    try expecting(ModelFileError.self) {
      let model = try KerasModel.decode(bytes, path: url.path)
      try expecting(KerasProblem.self) { _ = try model.makeGraph() }
      try expecting(KerasProblem.self) { _ = try model.sequentialSpec() }
      try expecting(KerasProblem.self) { _ = try model.parameters(for: Preset.mnistCNN.spec) }
    }
  }

  static func replayIDX(_ url: URL) throws {
    try expecting(DatasetError.self) { _ = try IDXFile.read(url.path) }
    try expecting(DatasetError.self) { _ = try IDXFile.image(at: 0, path: url.path) }
  }

  static func replayCIFAR(_ url: URL) throws {
    try expecting(DatasetError.self) {
      let set = try CIFAR10.load(batches: [url.path])
      guard set.labels.count * 3 * 32 * 32 == set.images.count else {
        throw WrongResult(description: "labels and images disagree")
      }
    }
  }

  /// Two classes, one image each: the input as a PNG of class "a" and as a
  /// JPEG of class "b".
  static func replayImageFolder(_ url: URL) throws {
    let scratch = try ScratchFolder()
    let bytes = try Data(contentsOf: url)
    for name in ["a/x.png", "b/y.jpg"] {
      let path = scratch.file(name)
      try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try bytes.write(to: URL(fileURLWithPath: path))
    }
    try expecting(DatasetError.self) { _ = try ImageFolder.load(folder: scratch.path, seed: 0) }
  }

  static func replayKernelSpec(_ url: URL) throws {
    let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
    try expecting(KernelError.self) {
      let kernel = try Kernel.parse(text)
      guard kernel.weights.count == kernel.rows * kernel.cols,
        kernel.weights.allSatisfy(\.isFinite)
      else { throw WrongResult(description: "inconsistent kernel") }
    }
  }

  static func replayModelSpec(_ url: URL) throws {
    let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
    try expecting(ModelSpecError.self) { _ = ModelSummary(try ModelSpec.parse(text)).render() }
  }
}

/// The process's virtual size and its peak, from /proc/self/status.
struct VirtualMemory {
  static let budget = 512 << 20
  var size: Int
  var peak: Int

  static func now() -> VirtualMemory {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Int {
      for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
        let digits = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return digits * 1024
      }
      return 0
    }
    return VirtualMemory(size: field("VmSize"), peak: field("VmPeak"))
  }
}

final class SampleDecodingTests: XCTestCase {
  /// Regression: turning every libpng "benign error" into an error (a first
  /// fix for the huge-chunk input) rejected samples/astronaut.png, whose
  /// iCCP profile libpng knows to be slightly wrong. Every bundled sample
  /// must decode, strictly (no corrupt-data warning either).
  func testEveryBundledSampleDecodes() throws {
    let folder = repositoryRoot.appendingPathComponent("samples")
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
      .filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }
    XCTAssertGreaterThanOrEqual(names.count, 7)
    for name in names {
      let image = try ImageFile.read(folder.appendingPathComponent(name).path)
      XCTAssertGreaterThan(image.width, 0, name)
    }
  }
}
