import Foundation
import ImageCodecs
import ModelFormats
import Tensors
import Training
import XCTest

/// What `predict` runs on and says about the libraries it opens at first
/// use (cvz_openblas.h, cvz_dnnl.h): OpenBLAS's core type when
/// OPENBLAS_CORETYPE is unset or set, and a library that cannot be opened.
/// The dynamic loader's own LD_LIBRARY_PATH stands in for a broken
/// install: a folder searched first, holding a file by the library's name
/// that is not a library, or a real library without its functions (zlib).
final class LibraryLoadingCommandTests: XCTestCase {
  private var folder: TrainingScratchFolder!
  private var model = ""
  private var image = ""

  override func setUpWithError() throws {
    folder = try TrainingScratchFolder()
    let spec = try ModelSpec.parse("input 4 4 1\nflatten\ndense 2 softmax\n")
    let parameters = spec.parameterShapes.map {
      NamedTensor(name: $0.name, tensor: Tensor(zeros: $0.shape))
    }
    model = folder.path + "/m.bin"
    try ModelFile(spec: spec, metadata: TrainingMetadata(), parameters: parameters).write(to: model)
    image = folder.path + "/x.png"
    try ImageFile.write(
      Image(width: 4, height: 4, layout: .gray, samples: [UInt8](repeating: 7, count: 16)),
      to: image)
  }

  // XCTest keeps every test case object until the process ends, so the
  // folder goes here, not with the object (left behind in /tmp before).
  override func tearDown() { folder = nil }

  /// `predict --timings`: the result and its "timing kernels" line.
  private func predict(
    environment: [String: String] = [:], removing: Set<String> = []
  ) throws -> (result: CommandResult, kernels: String) {
    let result = try ConvvizBinary.run(
      ["predict", model, image, "--timings"], environment: environment, removing: removing)
    let kernels =
      result.standardError.split(separator: "\n")
      .first { $0.hasPrefix("timing kernels ") }.map(String.init) ?? ""
    return (result, kernels)
  }

  /// The core the CPU calls for, from the flags Linux lists; skips the
  /// test without AVX2 and FMA.
  private func expectedCore() throws -> String {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { throw XCTSkip("no /proc/cpuinfo here") }
    let flags = Set(line.split(separator: " ").map(String.init))
    guard flags.isSuperset(of: ["avx2", "fma"]) else {
      throw XCTSkip("no AVX2 and FMA here: OpenBLAS's own choice of core stays")
    }
    let avx512: Set = ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]
    return flags.isSuperset(of: avx512) ? "SkylakeX" : "Haswell"
  }

  func testOpenBLASCoreFollowsTheCPUWhenUnset() throws {
    let expected = try expectedCore()
    let (result, kernels) = try predict(removing: ["OPENBLAS_CORETYPE"])
    XCTAssertEqual(result.status, 0, result.standardError)
    XCTAssertTrue(kernels.hasSuffix(", OpenBLAS \(expected) (from CPUID)"), kernels)
    XCTAssertFalse(kernels.contains("Prescott"), kernels)
  }

  func testUsersCoreTypeIsKept() throws {
    _ = try expectedCore()
    let (result, kernels) = try predict(environment: ["OPENBLAS_CORETYPE": "Haswell"])
    XCTAssertEqual(result.status, 0, result.standardError)
    XCTAssertTrue(kernels.hasSuffix(", OpenBLAS Haswell (OPENBLAS_CORETYPE)"), kernels)
  }

  /// LD_LIBRARY_PATH with `folder` first.
  private func searching(_ folder: String) -> [String: String] {
    let old = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"] ?? ""
    return ["LD_LIBRARY_PATH": old.isEmpty ? folder : folder + ":" + old]
  }

  /// A real shared library that is neither OpenBLAS nor oneDNN.
  private func zlibPath() throws -> String {
    let maps = String(
      decoding: try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/maps"))
        .readDataToEndOfFile(), as: UTF8.self)
    guard
      let path = maps.split(separator: "\n").compactMap({ $0.split(separator: " ").last })
        .first(where: { $0.hasPrefix("/") && $0.contains("/libz.so") })
    else { throw XCTSkip("zlib is not mapped in the test process") }
    return String(path)
  }

  func testMissingOpenBLASIsOneLineNamingIt() throws {
    let broken = folder.path + "/lib"
    try folder.write(Array("not a library\n".utf8), to: "lib/libopenblas.so.0")
    let unreadable = try predict(environment: searching(broken))
    XCTAssertEqual(unreadable.result.status, 1)
    XCTAssertEqual(unreadable.result.standardOutput, "")
    let lines = unreadable.result.standardError.split(separator: "\n")
      .filter { !$0.hasPrefix("timing ") }
    XCTAssertEqual(lines.count, 1, unreadable.result.standardError)
    XCTAssertTrue(
      lines.first?.hasPrefix("convviz: error: libopenblas (libopenblas.so.0) cannot be loaded")
        ?? false, unreadable.result.standardError)
    XCTAssertTrue(lines.first?.hasSuffix("(install libopenblas0)") ?? false)

    try FileManager.default.removeItem(atPath: broken + "/libopenblas.so.0")
    try FileManager.default.copyItem(atPath: try zlibPath(), toPath: broken + "/libopenblas.so.0")
    let empty = try predict(environment: searching(broken))
    XCTAssertEqual(empty.result.status, 1)
    XCTAssertTrue(
      empty.result.standardError.hasSuffix(
        "convviz: error: libopenblas (libopenblas.so.0) has no cblas_sgemm\n"),
      empty.result.standardError)
  }

  /// Without oneDNN the hand-written kernels run: the same scores, and
  /// `--timings` says why oneDNN is not used.
  func testMissingOneDNNFallsBackAndSaysWhy() throws {
    let broken = folder.path + "/lib"
    try folder.write(Array("not a library\n".utf8), to: "lib/libdnnl.so.2")
    let reference = try predict()
    XCTAssertEqual(reference.result.status, 0, reference.result.standardError)
    let unreadable = try predict(environment: searching(broken))
    XCTAssertEqual(unreadable.result.status, 0, unreadable.result.standardError)
    XCTAssertEqual(unreadable.result.standardOutput, reference.result.standardOutput)
    XCTAssertTrue(
      unreadable.kernels.hasPrefix(
        "timing kernels oneDNN unavailable (libdnnl (libdnnl.so.2) cannot be loaded: "),
      unreadable.kernels)

    try FileManager.default.removeItem(atPath: broken + "/libdnnl.so.2")
    try FileManager.default.copyItem(atPath: try zlibPath(), toPath: broken + "/libdnnl.so.2")
    let empty = try predict(environment: searching(broken))
    XCTAssertEqual(empty.result.status, 0, empty.result.standardError)
    XCTAssertEqual(empty.result.standardOutput, reference.result.standardOutput)
    XCTAssertTrue(
      empty.kernels.hasPrefix(
        "timing kernels oneDNN unavailable (libdnnl (libdnnl.so.2) has no dnnl_version)"),
      empty.kernels)
  }
}
