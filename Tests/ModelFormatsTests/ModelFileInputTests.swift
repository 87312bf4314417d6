import Foundation
import Tensors
import XCTest

@testable import ModelFormats

/// The resize mode stored with a model (issue 15), and the writer's promise
/// never to write a file the reader refuses (issue 14).
final class ModelFileInputTests: XCTestCase {
  private static let spec = try! ModelSpec.parse("input 2 2 1\nflatten\ndense 2 softmax\n")

  private func file(resize: ResizeMode = .fill) -> ModelFile {
    ModelFile(
      spec: Self.spec,
      metadata: TrainingMetadata(
        dataset: "d", classNames: ["a", "b"], batchSize: 4, resize: resize),
      parameters: Self.spec.parameterShapes.map {
        NamedTensor(name: $0.name, tensor: Tensor(zeros: $0.shape))
      })
  }

  /// Files with the default mode are the earlier layout byte for byte (so
  /// old files read as `fill`, and same-seed runs keep their bytes); other
  /// modes set flag bit 1 and add one byte after the metadata.
  func testResizeModeRoundTripsAndDefaultKeepsTheOldLayout() throws {
    let plain = file().encoded()
    XCTAssertEqual(Array(plain[12..<16]), [0, 0, 0, 0], "no flags")
    XCTAssertEqual(try ModelFile.decode(plain, path: "m.bin").metadata.resize, .fill)
    for mode in [ResizeMode.fit, .stretch, .none] {
      let bytes = file(resize: mode).encoded()
      XCTAssertEqual(Array(bytes[12..<16]), [2, 0, 0, 0])
      XCTAssertEqual(bytes.count, plain.count + 1)
      XCTAssertEqual(try ModelFile.decode(bytes, path: "m.bin").metadata.resize, mode)
    }
  }

  /// Training options (the augmentation) set flag bit 2 and round-trip;
  /// without them the layout is the earlier one.
  func testTrainingOptionsSectionRoundTrips() throws {
    var augmented = file()
    augmented.metadata.augmentation = "flip,shift=0.1"
    let bytes = augmented.encoded()
    XCTAssertEqual(Array(bytes[12..<16]), [4, 0, 0, 0])
    XCTAssertEqual(try ModelFile.decode(bytes, path: "m.bin"), augmented)
    XCTAssertEqual(try ModelFile.decode(file().encoded(), path: "m.bin").metadata.augmentation, "")
  }

  /// Weight decay sets flag bit 3 and adds its f32 after the other
  /// sections; 0 keeps the earlier layout; a stored value that is not
  /// finite and above 0 is malformed, and the writer refuses a negative one.
  func testWeightDecaySectionRoundTrips() throws {
    var decayed = file()
    decayed.metadata.weightDecay = 0.05
    decayed.metadata.augmentation = "flip"
    let bytes = decayed.encoded()
    XCTAssertEqual(Array(bytes[12..<16]), [4 | 8, 0, 0, 0])
    XCTAssertEqual(try ModelFile.decode(bytes, path: "m.bin"), decayed)
    var plain = decayed
    plain.metadata.weightDecay = 0
    XCTAssertEqual(plain.encoded().count, bytes.count - 4)
    XCTAssertEqual(try ModelFile.decode(file().encoded(), path: "m.bin").metadata.weightDecay, 0)

    var bad = decayed
    bad.metadata.weightDecay = -.infinity
    XCTAssertNotNil(bad.unwritableReason)
    bad.metadata.weightDecay = .nan
    XCTAssertThrowsError(try ModelFile.decode(bad.encoded(), path: "m.bin")) { error in
      XCTAssertEqual(
        (error as? ModelFileError).map { "\($0)" }, "m.bin: malformed model file: weight decay nan")
    }
  }

  func testScheduleEarlyStoppingAndKeptWeightsRoundTrip() throws {
    var checkpoint = file()
    checkpoint.metadata.learningRateSchedule = "plateau:10:0.1"
    checkpoint.metadata.earlyStoppingPatience = 5
    checkpoint.metadata.saveBest = true
    checkpoint.metadata.keptWeights = KeptWeights(
      role: .last,
      tensors: Self.spec.parameterShapes.map {
        NamedTensor(name: $0.name, tensor: Tensor(shape: $0.shape, repeating: 0.5))
      })
    let bytes = checkpoint.encoded()
    XCTAssertEqual(Array(bytes[12..<16]), [4, 0, 0, 0])
    XCTAssertEqual(try ModelFile.decode(bytes, path: "m.bin"), checkpoint)

    // Kept weights that do not fit the spec are refused like the model's own.
    var wrong = checkpoint
    wrong.metadata.keptWeights?.tensors[0].tensor = Tensor(zeros: Shape(3))
    XCTAssertThrowsError(try ModelFile.decode(wrong.encoded(), path: "m.bin")) { error in
      guard case .parameterMismatch(_, let reason) = error as? ModelFileError else {
        return XCTFail("\(error)")
      }
      XCTAssertTrue(reason.hasPrefix("kept weights: "), reason)
    }
  }

  func testUnknownResizeCodeIsMalformed() throws {
    var bytes = file(resize: .none).encoded()
    // The mode byte follows the metadata; find it as the one byte that differs.
    let reference = file(resize: .fit).encoded()
    let index = try XCTUnwrap(bytes.indices.first { bytes[$0] != reference[$0] })
    bytes[index] = 9
    let body = bytes[0..<(bytes.count - 4)]
    let crc = CRC32.checksum(Array(body))
    bytes.replaceSubrange((bytes.count - 4)..., with: (0..<4).map { UInt8(crc >> (8 * $0) & 255) })
    XCTAssertThrowsError(try ModelFile.decode(bytes, path: "m.bin")) { error in
      XCTAssertEqual(
        error as? ModelFileError, .malformed(path: "m.bin", reason: "unknown resize mode 9"))
    }
  }

  /// Regression: `--learning-rate inf` once wrote a model that `summary`
  /// then refused to read.
  func testAModelTheReaderWouldRefuseIsNotWritten() throws {
    let folder = NSTemporaryDirectory() + "unwritable-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/m.bin"
    var bad = file()
    bad.metadata.optimizer = .adadelta(learningRate: .infinity, rho: 0.95, epsilon: 1e-7)
    XCTAssertThrowsError(try bad.write(to: path)) { error in
      XCTAssertEqual(
        error as? ModelFileError,
        .unwritable(
          path: path, reason: "optimizer learning_rate must be a finite number above 0, not inf"))
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    bad = file()
    bad.metadata.classNames = ["a", String(repeating: "x", count: 5000)]
    XCTAssertThrowsError(try bad.write(to: path))
    XCTAssertNoThrow(try file().write(to: path))
    XCTAssertNoThrow(try ModelFile.read(from: path))
  }
}
