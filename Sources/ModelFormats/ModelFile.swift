import Engine
import Files
import Tensors

/// A trained model on disk (model.bin): spec, training metadata, every
/// weight, and for checkpoints the optimizer and generator state. The
/// layout is docs/model-format.md; all integers are little-endian.
///
/// Reading never trusts the file: sizes are checked against the bytes
/// present before anything is allocated, and any damage is a thrown
/// `ModelFileError`.
public struct ModelFile: Equatable, Sendable {
  public static let magic = Array("CVZMODEL".utf8)
  public static let currentVersion: UInt32 = 1
  /// Files larger than this are refused before they are read (VGG16 is 0.55 GB).
  public static let maximumFileSize = 1 << 33
  static let headerSize = 24
  static let checkpointFlag: UInt32 = 1
  /// Set when the input section (the resize mode) follows the metadata;
  /// left clear for the default, so such files are those of earlier
  /// versions byte for byte.
  static let inputFlag: UInt32 = 2
  /// Set when the training-options section (augmentation, schedule, early
  /// stopping) follows; clear for runs without those options, whose files
  /// stay byte for byte what earlier versions wrote.
  static let optionsFlag: UInt32 = 4
  /// Set when the weight-decay section follows; clear without weight decay.
  static let weightDecayFlag: UInt32 = 8
  static let resizeCodes: [ResizeMode] = [.fill, .fit, .stretch, .none]

  public var spec: ModelSpec
  public var metadata: TrainingMetadata
  /// One tensor per entry of `spec.parameterShapes`, same names and order.
  public var parameters: [NamedTensor]
  /// Present in checkpoints written at the end of each training epoch.
  public var checkpoint: CheckpointState?

  /// A model file; the parameters must match the spec (programmer error).
  public init(
    spec: ModelSpec, metadata: TrainingMetadata, parameters: [NamedTensor],
    checkpoint: CheckpointState? = nil
  ) {
    if let mismatch = Self.mismatch(spec: spec, parameters: parameters, checkpoint: checkpoint) {
      preconditionFailure(mismatch)
    }
    self.spec = spec
    self.metadata = metadata
    self.parameters = parameters
    self.checkpoint = checkpoint
  }

  private init(
    unchecked spec: ModelSpec, _ metadata: TrainingMetadata,
    _ parameters: [NamedTensor], _ checkpoint: CheckpointState?
  ) {
    self.spec = spec
    self.metadata = metadata
    self.parameters = parameters
    self.checkpoint = checkpoint
  }

  // MARK: Writing

  /// The complete file contents.
  public func encoded() -> [UInt8] {
    var body = ByteWriter()
    body.string(spec.canonicalText)
    body.metadata(metadata)
    if hasInputSection { body.u8(UInt8(Self.resizeCodes.firstIndex(of: metadata.resize) ?? 0)) }
    if hasOptionsSection { body.trainingOptions(metadata) }
    if hasWeightDecaySection { body.f32(metadata.weightDecay) }
    body.u32(UInt32(parameters.count))
    for parameter in parameters { body.tensor(parameter) }
    if let checkpoint { body.checkpoint(checkpoint, names: parameters.map(\.name)) }

    var file = ByteWriter()
    file.bytes.reserveCapacity(Self.headerSize + body.bytes.count + 4)
    file.bytes.append(contentsOf: Self.magic)
    file.u32(Self.currentVersion)
    file.u32(
      (checkpoint == nil ? 0 : Self.checkpointFlag) | (hasInputSection ? Self.inputFlag : 0)
        | (hasOptionsSection ? Self.optionsFlag : 0)
        | (hasWeightDecaySection ? Self.weightDecayFlag : 0))
    file.u64(UInt64(body.bytes.count))
    file.bytes.append(contentsOf: body.bytes)
    file.u32(file.bytes.withUnsafeBytes { CRC32.checksum($0) })
    return file.bytes
  }

  private var hasInputSection: Bool { metadata.resize != .fill }
  private var hasOptionsSection: Bool { metadata.hasTrainingOptions }
  private var hasWeightDecaySection: Bool { metadata.weightDecay != 0 }

  /// Why `read` would refuse this model once written, or nil: the same
  /// limits the reader applies to the metadata.
  public var unwritableReason: String? {
    if let problem = metadata.optimizer.problem { return "optimizer \(problem)" }
    if let long = metadata.classNames.first(where: { $0.utf8.count > 4096 }) {
      return "class name '\(long.prefix(40))…' is longer than 4096 bytes"
    }
    if metadata.dataset.utf8.count > 1 << 20 { return "dataset description is over 1 MiB" }
    if !(metadata.weightDecay >= 0 && metadata.weightDecay.isFinite) {
      return "weight decay \(metadata.weightDecay) is not a finite value ≥ 0"
    }
    let limit = Int(UInt32.max)
    for (name, value) in [
      ("batch size", metadata.batchSize), ("epochs", metadata.epochsCompleted),
      ("class count", metadata.classNames.count),
    ] where value < 0 || value > limit {
      return "\(name) \(value) does not fit the file format"
    }
    guard metadata.validationSplit.isFinite else { return "validation split is not finite" }
    if metadata.augmentation.utf8.count > 4096 || metadata.learningRateSchedule.utf8.count > 4096 {
      return "augmentation or schedule text is over 4096 bytes"
    }
    if metadata.earlyStoppingPatience < 0 || metadata.earlyStoppingPatience > limit {
      return
        "early-stopping patience \(metadata.earlyStoppingPatience) does not fit the file format"
    }
    return nil
  }

  /// Writes the file atomically: readers see the old file or the new one.
  /// A model that `read` would refuse is not written (`unwritable`).
  public func write(to path: String) throws(ModelFileError) {
    if let reason = unwritableReason { throw .unwritable(path: path, reason: reason) }
    do {
      try AtomicFile.write(encoded(), to: path)
    } catch {
      throw .cannotWrite(error)
    }
  }

  // MARK: Reading

  /// Reads and checks a model file.
  public static func read(from path: String) throws(ModelFileError) -> ModelFile {
    try decode(try readBytes(path), path: path)
  }

  /// Checks and decodes file contents; `path` only names the file in errors.
  public static func decode(_ bytes: [UInt8], path: String) throws(ModelFileError) -> ModelFile {
    guard bytes.count >= magic.count else {
      guard magic.starts(with: bytes) else { throw .notAModelFile(path: path) }
      throw .truncated(path: path, expectedBytes: headerSize + 4, actualBytes: bytes.count)
    }
    guard bytes.starts(with: magic) else { throw .notAModelFile(path: path) }
    guard bytes.count >= headerSize else {
      throw .truncated(path: path, expectedBytes: headerSize + 4, actualBytes: bytes.count)
    }
    // The frame (magic, version, flags, body length, trailing CRC-32) is the
    // same in every version, so the checksum is verified before the version
    // is believed: a flipped bit reads as corruption, not as a future file.
    var header = ByteReader(bytes, from: magic.count, to: headerSize)
    do {
      let version = try header.u32("version")
      let flags = try header.u32("flags")
      let bodyLength = try header.u64("body length")
      guard bodyLength <= UInt64(maximumFileSize) else {
        throw ModelFileError.malformed(path: path, reason: "body length \(bodyLength) is absurd")
      }
      let expected = headerSize + Int(bodyLength) + 4
      guard bytes.count >= expected else {
        throw ModelFileError.truncated(
          path: path, expectedBytes: expected, actualBytes: bytes.count)
      }
      guard bytes.count == expected else {
        throw ModelFileError.trailingBytes(
          path: path, expectedBytes: expected, actualBytes: bytes.count)
      }
      var trailer = ByteReader(bytes, from: expected - 4, to: expected)
      let stored = try trailer.u32("checksum")
      let computed = bytes.withUnsafeBytes {
        CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[..<(expected - 4)]))
      }
      guard stored == computed else {
        throw ModelFileError.checksumMismatch(path: path, stored: stored, computed: computed)
      }
      guard version == currentVersion else {
        throw ModelFileError.unsupportedVersion(
          path: path, found: version, expected: currentVersion)
      }
      guard flags & ~(checkpointFlag | inputFlag | optionsFlag | weightDecayFlag) == 0 else {
        throw ModelFileError.malformed(path: path, reason: "unknown flags \(flags)")
      }
      var body = ByteReader(bytes, from: headerSize, to: expected - 4)
      return try decodeBody(
        &body, hasCheckpoint: flags & checkpointFlag != 0, hasInput: flags & inputFlag != 0,
        hasOptions: flags & optionsFlag != 0, hasWeightDecay: flags & weightDecayFlag != 0,
        path: path)
    } catch let error as ModelFileError {
      throw error
    } catch let error as ByteReaderError {
      throw .malformed(path: path, reason: error.reason)
    } catch {
      throw .malformed(path: path, reason: "\(error)")
    }
  }

  private static func decodeBody(
    _ body: inout ByteReader, hasCheckpoint: Bool, hasInput: Bool, hasOptions: Bool,
    hasWeightDecay: Bool, path: String
  ) throws -> ModelFile {
    let specText = try body.string("model spec")
    let spec: ModelSpec
    do {
      spec = try ModelSpec.parse(specText)
    } catch {
      throw ModelFileError.invalidSpec(path: path, error)
    }
    var metadata = try body.metadata()
    if hasInput {
      let code = Int(try body.u8("resize mode"))
      guard code < resizeCodes.count else {
        throw ModelFileError.malformed(path: path, reason: "unknown resize mode \(code)")
      }
      metadata.resize = resizeCodes[code]
    }
    if hasOptions { try body.trainingOptions(into: &metadata) }
    if hasWeightDecay {
      let decay = try body.f32("weight decay")
      guard decay.isFinite && decay > 0 else {
        throw ModelFileError.malformed(path: path, reason: "weight decay \(decay)")
      }
      metadata.weightDecay = decay
    }
    var parameters: [NamedTensor] = []
    for _ in 0..<(try body.count("tensor count", minimumSize: 7)) {
      parameters.append(try body.tensor())
    }
    let checkpoint = hasCheckpoint ? try body.checkpoint(names: parameters.map(\.name)) : nil
    guard body.remaining == 0 else {
      throw ModelFileError.malformed(path: path, reason: "\(body.remaining) unread bytes in body")
    }
    if let mismatch = mismatch(spec: spec, parameters: parameters, checkpoint: checkpoint) {
      throw ModelFileError.parameterMismatch(path: path, reason: mismatch)
    }
    if let kept = metadata.keptWeights,
      let mismatch = mismatch(spec: spec, parameters: kept.tensors, checkpoint: nil)
    {
      throw ModelFileError.parameterMismatch(path: path, reason: "kept weights: " + mismatch)
    }
    return ModelFile(unchecked: spec, metadata, parameters, checkpoint)
  }

  /// Why the tensors cannot belong to the spec, or nil when they match.
  static func mismatch(
    spec: ModelSpec, parameters: [NamedTensor], checkpoint: CheckpointState?
  ) -> String? {
    let expected = spec.parameterShapes
    guard parameters.count == expected.count else {
      return "\(parameters.count) tensors, the spec needs \(expected.count)"
    }
    for (parameter, (name, shape)) in zip(parameters, expected) {
      guard parameter.name == name else {
        return "tensor '\(parameter.name)' where the spec needs '\(name)'"
      }
      guard parameter.tensor.shape == shape else {
        return "tensor \(name) has shape \(parameter.tensor.shape), the spec needs \(shape)"
      }
    }
    for slot in checkpoint?.optimizer.slots ?? [] {
      guard slot.tensors.count == expected.count else {
        return "optimizer slot \(slot.name) has \(slot.tensors.count) tensors, "
          + "the spec has \(expected.count) parameters"
      }
      for (tensor, (name, shape)) in zip(slot.tensors, expected) where tensor.shape != shape {
        return "optimizer slot \(slot.name) for \(name) has shape \(tensor.shape), needs \(shape)"
      }
    }
    return nil
  }

  /// The whole file, refusing directories, devices and absurd sizes before reading.
  static func readBytes(_ path: String) throws(ModelFileError) -> [UInt8] {
    do {
      return try FileContents.read(path, maximumBytes: maximumFileSize)
    } catch .tooLarge(_, let bytes, _) {
      throw .tooLarge(path: path, bytes: bytes)
    } catch .cannotRead(_, let reason) {
      throw .cannotRead(path: path, reason: reason)
    } catch {
      throw .cannotRead(path: path, reason: error.problem)
    }
  }
}
