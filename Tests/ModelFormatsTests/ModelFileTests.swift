import Foundation
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats
import Training

final class ModelFileTests: XCTestCase {
  // Static, not per instance: XCTest never frees test-case instances, which
  // LeakSanitizer would report.
  private static let spec = try! ModelSpec.parse(
    "input 5 5 1\nconv2d 2 3 relu\nmaxpool2d 2\nflatten\ndense 3 softmax\n")

  private func randomTensor(_ shape: Shape, _ generator: inout SeededGenerator) -> Tensor {
    Tensor(
      shape: shape,
      storage: (0..<shape.count).map { _ in Float(Int(generator.next() % 2001) - 1000) / 997 })
  }

  private func sampleFile(checkpoint: Bool) -> ModelFile {
    var generator = SeededGenerator(seed: 3)
    let parameters = Self.spec.parameterShapes.map {
      NamedTensor(name: $0.name, tensor: randomTensor($0.shape, &generator))
    }
    let metadata = TrainingMetadata(
      dataset: "synthetic ✓", classNames: ["zero", "one", "two"], seed: 42, epochsCompleted: 2,
      batchSize: 16, validationSplit: 0.1,
      optimizer: .adam(learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7),
      history: [
        EpochRecord(
          epoch: 1, loss: 1.5, accuracy: 0.25, validationLoss: 1.25,
          validationAccuracy: 0.5),
        EpochRecord(epoch: 2, loss: 0.5, accuracy: 0.875),
      ])
    let state =
      checkpoint
      ? CheckpointState(
        optimizer: OptimizerState(
          iterations: 7,
          slots: ["momentum", "velocity"].map { name in
            .init(
              name: name,
              tensors: Self.spec.parameterShapes.map { randomTensor($0.shape, &generator) })
          }),
        generators: [GeneratorState(name: "shuffle", words: [1, .max, 3, 0])])
      : nil
    return ModelFile(spec: Self.spec, metadata: metadata, parameters: parameters, checkpoint: state)
  }

  private func decodeError(_ bytes: [UInt8]) -> ModelFileError? {
    do {
      _ = try ModelFile.decode(bytes, path: "m.bin")
      return nil
    } catch {
      return error
    }
  }

  func testWriteThenReadGivesEqualFile() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "modelfile-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    for checkpoint in [false, true] {
      let file = sampleFile(checkpoint: checkpoint)
      let path = folder.appendingPathComponent("model-\(checkpoint).bin").path
      try file.write(to: path)
      let read = try ModelFile.read(from: path)
      XCTAssertEqual(read, file)
      XCTAssertEqual(read.metadata.history[1].validationLoss, nil)
      XCTAssertEqual(read.checkpoint?.optimizer.iterations, checkpoint ? 7 : nil)
      XCTAssertEqual(read.encoded(), file.encoded())
    }
  }

  /// The header layout of docs/model-format.md, checked byte by byte.
  func testHeaderLayout() {
    let bytes = sampleFile(checkpoint: true).encoded()
    XCTAssertEqual(Array(bytes[0..<8]), Array("CVZMODEL".utf8))
    XCTAssertEqual(Array(bytes[8..<12]), [1, 0, 0, 0])
    XCTAssertEqual(Array(bytes[12..<16]), [1, 0, 0, 0])
    let length = bytes[16..<24].reversed().reduce(0) { $0 << 8 | Int($1) }
    XCTAssertEqual(length, bytes.count - 28)
    let specLength = bytes[24..<28].reversed().reduce(0) { $0 << 8 | Int($1) }
    XCTAssertEqual(
      String(decoding: bytes[28..<(28 + specLength)], as: UTF8.self), Self.spec.canonicalText)
  }

  /// Epoch times vary run to run; files must not, so they are not stored.
  func testEpochSecondsAreNotStored() throws {
    var timed = sampleFile(checkpoint: false)
    timed.metadata.history[0].seconds = 12.5
    XCTAssertEqual(timed.encoded(), sampleFile(checkpoint: false).encoded())
    XCTAssertNil(try ModelFile.decode(timed.encoded(), path: "m.bin").metadata.history[0].seconds)
  }

  func testCRC32MatchesZlib() {
    XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
    XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
  }

  func testWrongMagic() {
    var bytes = sampleFile(checkpoint: false).encoded()
    bytes[0] = UInt8(ascii: "X")
    XCTAssertEqual(decodeError(bytes), .notAModelFile(path: "m.bin"))
    XCTAssertEqual(decodeError(Array("\u{89}PNG\r\n\u{1A}\n".utf8)), .notAModelFile(path: "m.bin"))
    XCTAssertEqual(decodeError(Array("CVZ".utf8) + [0]), .notAModelFile(path: "m.bin"))
  }

  func testFutureVersionNamesBothVersionsAndAHint() {
    var bytes = sampleFile(checkpoint: false).encoded()
    bytes[8] = 2
    let body = bytes[..<(bytes.count - 4)]
    let crc = CRC32.checksum(body)
    bytes.replaceSubrange(
      (bytes.count - 4)..., with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) })
    let error = decodeError(bytes)
    XCTAssertEqual(error, .unsupportedVersion(path: "m.bin", found: 2, expected: 1))
    XCTAssertTrue("\(error!)".contains("upgrade convviz or retrain with `convviz train`"))
  }

  func testTruncatedAtEveryLength() {
    let bytes = sampleFile(checkpoint: true).encoded()
    for length in 0..<bytes.count {
      switch decodeError(Array(bytes[..<length])) {
      case .truncated(let path, let expected, let actual)?:
        XCTAssertEqual(path, "m.bin")
        XCTAssertEqual(actual, length)
        XCTAssertEqual(expected, length < 24 ? 28 : bytes.count)
      case let other:
        XCTFail("truncated to \(length): \(String(describing: other))")
      }
    }
    XCTAssertEqual(
      decodeError(bytes + [0]),
      .trailingBytes(path: "m.bin", expectedBytes: bytes.count, actualBytes: bytes.count + 1))
  }

  /// Every single flipped byte is caught: in the signature as a foreign
  /// file, in the body length as a size mismatch, anywhere else by the CRC.
  func testEveryFlippedByteIsDetected() {
    let bytes = sampleFile(checkpoint: true).encoded()
    for position in bytes.indices {
      for flip: UInt8 in [0x01, 0x80] {
        var damaged = bytes
        damaged[position] ^= flip
        let error = decodeError(damaged)
        switch (position, error) {
        case (0..<8, .notAModelFile?): break
        case (16..<24, .truncated?), (16..<24, .trailingBytes?), (16..<24, .malformed?): break
        case (8..<16, .checksumMismatch?), (24..., .checksumMismatch?): break
        default: XCTFail("byte \(position) ^ \(flip): \(String(describing: error))")
        }
      }
    }
  }

  /// A file whose CRC is right but whose tensors do not fit its spec.
  func testTensorShapeMismatchAgainstSpec() throws {
    var file = sampleFile(checkpoint: false)
    file.spec = try ModelSpec.parse(
      "input 5 5 1\nconv2d 3 3 relu\nmaxpool2d 2\nflatten\ndense 3 softmax\n")
    XCTAssertEqual(
      decodeError(file.encoded()),
      .parameterMismatch(
        path: "m.bin",
        reason: "tensor conv2d/kernel has shape (3, 3, 1, 2), the spec needs (3, 3, 1, 3)"))
    var fewer = sampleFile(checkpoint: false)
    fewer.parameters.removeLast()
    XCTAssertEqual(
      decodeError(fewer.encoded()),
      .parameterMismatch(path: "m.bin", reason: "3 tensors, the spec needs 4"))
    var slot = sampleFile(checkpoint: true)
    slot.checkpoint?.optimizer.slots[1].tensors[0] = Tensor(zeros: Shape(2))
    XCTAssertEqual(
      decodeError(slot.encoded()),
      .parameterMismatch(
        path: "m.bin",
        reason: "optimizer slot velocity for conv2d/kernel has shape (2), needs (3, 3, 1, 2)"))
  }

  /// Hyper-parameters that would trap an optimizer's initialiser are refused
  /// when read (regression: rho 5 under a valid CRC reached Adadelta.init).
  func testOutOfRangeOptimizerSettingsAreMalformed() {
    var file = sampleFile(checkpoint: false)
    file.metadata.optimizer = .adadelta(learningRate: 1, rho: 5, epsilon: 1e-7)
    XCTAssertEqual(
      decodeError(file.encoded()),
      .malformed(path: "m.bin", reason: "optimizer rho is out of range"))
    file.metadata.optimizer = .adam(learningRate: .nan, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
    XCTAssertEqual(
      decodeError(file.encoded()),
      .malformed(path: "m.bin", reason: "optimizer learning rate is out of range"))
  }

  /// Random damage with a recomputed, valid CRC: the parser itself must
  /// refuse absurd lengths without trapping or allocating wildly.
  func testCorruptBodyWithValidChecksumNeverCrashes() {
    let bytes = sampleFile(checkpoint: true).encoded()
    var generator = SeededGenerator(seed: 11)
    var refused = 0
    for _ in 0..<3000 {
      var damaged = bytes
      for _ in 0..<Int(generator.next() % 3) + 1 {
        let position = 24 + Int(generator.next() % UInt64(bytes.count - 28))
        damaged[position] = UInt8(truncatingIfNeeded: generator.next())
      }
      let crc = CRC32.checksum(damaged[..<(damaged.count - 4)])
      damaged.replaceSubrange(
        (damaged.count - 4)..., with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) })
      do {
        // Whatever decodes must also load and resume without trapping.
        let file = try ModelFile.decode(damaged, path: "m.bin")
        _ = file.makeModel()
        _ = try? Trainer(resuming: file, path: "m.bin")
      } catch {
        refused += 1
      }
    }
    XCTAssertGreaterThan(refused, 1000)
  }

  func testUnreadablePaths() {
    XCTAssertThrowsError(try ModelFile.read(from: "/nonexistent/model.bin")) { error in
      XCTAssertEqual(
        error as? ModelFileError,
        .cannotRead(path: "/nonexistent/model.bin", reason: "No such file or directory"))
    }
    XCTAssertThrowsError(try ModelFile.read(from: NSTemporaryDirectory())) { error in
      XCTAssertEqual(
        error as? ModelFileError,
        .cannotRead(path: NSTemporaryDirectory(), reason: "not a regular file"))
    }
  }

  func testWriteIntoMissingFolderThrows() {
    XCTAssertThrowsError(try sampleFile(checkpoint: false).write(to: "/nonexistent/dir/m.bin")) {
      error in
      guard case .cannotWrite? = error as? ModelFileError else {
        return XCTFail("\(error)")
      }
    }
  }
}
