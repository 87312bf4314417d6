import Foundation
import ImageCodecs
import XCTest

/// A model trained once per test run with the built binary (the 8×8 bars
/// data set of `TrainEndToEndTests`), shared by the dump-weights,
/// featuremaps and report tests, plus a small photo.
enum VisualizationFixture {
  struct Trained {
    let folder: TrainingScratchFolder
    var model: String { folder.path + "/out/model.bin" }
    var data: String { folder.path + "/data" }
    var photo: String { folder.path + "/photo.png" }
  }

  private static let lock = NSLock()
  nonisolated(unsafe) private static var cached: Trained?
  /// What `convviz train` printed while making the fixture.
  nonisolated(unsafe) static var trainOutput = ""

  static func trained() throws -> Trained {
    lock.lock()
    defer { lock.unlock() }
    if let cached { return cached }
    let folder = try TrainingScratchFolder()
    // Kept for the whole test process, so removed when it exits.
    atexit { VisualizationFixture.cached = nil }
    try TrainEndToEndTests.writeBars(to: folder, count: 80)
    let spec = try folder.write(Array(TrainEndToEndTests.spec.utf8), to: "bars.txt")
    let trained = Trained(folder: folder)
    let result = try TrainingCLI.run([
      "train", "--model", spec, "--data", trained.data, "--epochs", "2", "--batch-size", "20",
      "--optimizer", "adam", "--learning-rate", "0.01", "--seed", "1", "-o", trained.model,
      "--snapshot-every", "1",
    ])
    guard result.status == 0 else {
      throw NSError(
        domain: "fixture", code: Int(result.status),
        userInfo: [NSLocalizedDescriptionKey: result.stderr])
    }
    // A 20×16 colour photo: a bright vertical bar on a dark ground.
    var samples: [UInt8] = []
    for y in 0..<16 {
      for x in 0..<20 {
        let lit = x >= 9 && x <= 10
        samples += lit ? [240, 230, 220] : [UInt8(10 + y), 20, 30]
      }
    }
    try ImageFile.write(
      Image(width: 20, height: 16, layout: .rgb, samples: samples), to: trained.photo)
    trainOutput = result.stdout
    cached = trained
    return trained
  }

  /// The `.npy` header dictionary of the file at `path`.
  static func npyHeader(_ path: String) throws -> (header: String, dataCount: Int) {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    XCTAssertEqual(Array(bytes[0..<8]), [0x93] + Array("NUMPY".utf8) + [1, 0])
    let length = Int(bytes[8]) | Int(bytes[9]) << 8
    return (String(decoding: bytes[10..<(10 + length)], as: UTF8.self), bytes.count - 10 - length)
  }
}
