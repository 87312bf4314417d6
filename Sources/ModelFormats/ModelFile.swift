import AtomicFiles
import Engine
import Tensors

#if canImport(Glibc)
  import Glibc
#endif

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
    body.u32(UInt32(parameters.count))
    for parameter in parameters { body.tensor(parameter) }
    if let checkpoint { body.checkpoint(checkpoint, names: parameters.map(\.name)) }

    var file = ByteWriter()
    file.bytes.reserveCapacity(Self.headerSize + body.bytes.count + 4)
    file.bytes.append(contentsOf: Self.magic)
    file.u32(Self.currentVersion)
    file.u32(checkpoint == nil ? 0 : Self.checkpointFlag)
    file.u64(UInt64(body.bytes.count))
    file.bytes.append(contentsOf: body.bytes)
    file.u32(file.bytes.withUnsafeBytes { CRC32.checksum($0) })
    return file.bytes
  }

  /// Writes the file atomically: readers see the old file or the new one.
  public func write(to path: String) throws(ModelFileError) {
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
      guard flags & ~checkpointFlag == 0 else {
        throw ModelFileError.malformed(path: path, reason: "unknown flags \(flags)")
      }
      var body = ByteReader(bytes, from: headerSize, to: expected - 4)
      return try decodeBody(&body, hasCheckpoint: flags & checkpointFlag != 0, path: path)
    } catch let error as ModelFileError {
      throw error
    } catch let error as ByteReaderError {
      throw .malformed(path: path, reason: error.reason)
    } catch {
      throw .malformed(path: path, reason: "\(error)")
    }
  }

  private static func decodeBody(
    _ body: inout ByteReader, hasCheckpoint: Bool, path: String
  ) throws -> ModelFile {
    let specText = try body.string("model spec")
    let spec: ModelSpec
    do {
      spec = try ModelSpec.parse(specText)
    } catch {
      throw ModelFileError.invalidSpec(path: path, error)
    }
    let metadata = try body.metadata()
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

  /// The whole file, refusing directories and absurd sizes before reading.
  static func readBytes(_ path: String) throws(ModelFileError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .cannotRead(path: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      throw .cannotRead(path: path, reason: String(cString: strerror(errno)))
    }
    guard info.st_mode & S_IFMT == S_IFREG else {
      throw .cannotRead(path: path, reason: "not a regular file")
    }
    let size = Int(info.st_size)
    guard size <= maximumFileSize else { throw .tooLarge(path: path, bytes: size) }
    var bytes = [UInt8](repeating: 0, count: size)
    var offset = 0
    while offset < size {
      let n = bytes.withUnsafeMutableBytes {
        Glibc.read(fd, $0.baseAddress! + offset, size - offset)
      }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else { throw .cannotRead(path: path, reason: String(cString: strerror(errno))) }
      if n == 0 { break }
      offset += n
    }
    // The file shrank while being read; report what was there.
    return offset == size ? bytes : Array(bytes[..<offset])
  }
}

// MARK: Sections

extension ByteWriter {
  mutating func metadata(_ metadata: TrainingMetadata) {
    string(metadata.dataset)
    u32(UInt32(metadata.classNames.count))
    for name in metadata.classNames { string(name) }
    u64(metadata.seed)
    u32(UInt32(metadata.epochsCompleted))
    u32(UInt32(metadata.batchSize))
    f64(metadata.validationSplit)
    optimizer(metadata.optimizer)
    u32(UInt32(metadata.history.count))
    for row in metadata.history {
      u32(UInt32(row.epoch))
      // No wall-clock time: equal seeds must give bit-identical files.
      for value in [
        row.loss, row.accuracy, row.validationLoss ?? .nan,
        row.validationAccuracy ?? .nan,
      ] {
        f64(value)
      }
    }
  }

  /// Kind code, then four float32 hyper-parameters (see model-format.md).
  mutating func optimizer(_ config: OptimizerConfiguration) {
    switch config {
    case .sgd(let lr, let momentum, let nesterov):
      u8(0)
      f32(lr)
      f32(momentum)
      f32(nesterov ? 1 : 0)
      f32(0)
    case .adadelta(let lr, let rho, let epsilon):
      u8(1)
      f32(lr)
      f32(rho)
      f32(epsilon)
      f32(0)
    case .adam(let lr, let beta1, let beta2, let epsilon):
      u8(2)
      f32(lr)
      f32(beta1)
      f32(beta2)
      f32(epsilon)
    case .rmsprop(let lr, let rho, let momentum, let epsilon):
      u8(3)
      f32(lr)
      f32(rho)
      f32(momentum)
      f32(epsilon)
    }
  }

  mutating func checkpoint(_ checkpoint: CheckpointState, names: [String]) {
    u64(UInt64(checkpoint.optimizer.iterations))
    u32(UInt32(checkpoint.optimizer.slots.count))
    for slot in checkpoint.optimizer.slots {
      string(slot.name)
      u32(UInt32(slot.tensors.count))
      for (i, value) in slot.tensors.enumerated() {
        tensor(NamedTensor(name: i < names.count ? names[i] : "\(i)", tensor: value))
      }
    }
    u32(UInt32(checkpoint.generators.count))
    for generator in checkpoint.generators {
      string(generator.name)
      u32(UInt32(generator.words.count))
      for word in generator.words { u64(word) }
    }
  }
}

extension ByteReader {
  mutating func metadata() throws(ByteReaderError) -> TrainingMetadata {
    var metadata = TrainingMetadata()
    metadata.dataset = try string("dataset")
    for _ in 0..<(try count("class count", minimumSize: 4)) {
      metadata.classNames.append(try string("class name", maximumLength: 4096))
    }
    metadata.seed = try u64("seed")
    metadata.epochsCompleted = Int(try u32("epochs completed"))
    metadata.batchSize = Int(try u32("batch size"))
    metadata.validationSplit = try f64("validation split")
    metadata.optimizer = try optimizer()
    for _ in 0..<(try count("history rows", minimumSize: 36)) {
      let epoch = Int(try u32("history epoch"))
      var values: [Double] = []
      for _ in 0..<4 { values.append(try f64("history value")) }
      metadata.history.append(
        EpochRecord(
          epoch: epoch, loss: values[0], accuracy: values[1],
          validationLoss: values[2].isNaN ? nil : values[2],
          validationAccuracy: values[3].isNaN ? nil : values[3], seconds: nil))
    }
    return metadata
  }

  mutating func optimizer() throws(ByteReaderError) -> OptimizerConfiguration {
    let kind = try u8("optimizer kind")
    var p: [Float] = []
    for _ in 0..<4 { p.append(try f32("optimizer hyper-parameter")) }
    // The optimizers' initialisers trap on these; a file must not reach them.
    func check(_ valid: Bool, _ what: String) throws(ByteReaderError) {
      guard valid else { throw ByteReaderError(reason: "optimizer \(what) is out of range") }
    }
    try check(p[0].isFinite, "learning rate")
    switch kind {
    case 0:
      try check(p[1] >= 0 && p[1] <= 1, "momentum")
      return .sgd(learningRate: p[0], momentum: p[1], nesterov: p[2] != 0)
    case 1:
      try check(p[1] >= 0 && p[1] <= 1, "rho")
      try check(p[2] > 0 && p[2].isFinite, "epsilon")
      return .adadelta(learningRate: p[0], rho: p[1], epsilon: p[2])
    case 2:
      try check(p[1] >= 0 && p[1] < 1 && p[2] >= 0 && p[2] < 1, "beta")
      try check(p[3].isFinite, "epsilon")
      return .adam(learningRate: p[0], beta1: p[1], beta2: p[2], epsilon: p[3])
    case 3:
      try check(p[1] >= 0 && p[1] <= 1, "rho")
      try check(p[2] >= 0 && p[2] <= 1, "momentum")
      try check(p[3].isFinite, "epsilon")
      return .rmsprop(learningRate: p[0], rho: p[1], momentum: p[2], epsilon: p[3])
    default:
      throw ByteReaderError(reason: "unknown optimizer kind \(kind)")
    }
  }

  mutating func checkpoint(names: [String]) throws(ByteReaderError) -> CheckpointState {
    let iterations = try u64("optimizer iterations")
    guard iterations <= UInt64(Int32.max) else {
      throw ByteReaderError(reason: "optimizer iterations \(iterations) is absurd")
    }
    var slots: [OptimizerState.Slot] = []
    for _ in 0..<(try count("optimizer slot count", minimumSize: 8)) {
      let name = try string("optimizer slot name", maximumLength: 4096)
      var tensors: [Tensor] = []
      for _ in 0..<(try count("optimizer slot tensors", minimumSize: 7)) {
        tensors.append(try tensor().tensor)
      }
      slots.append(.init(name: name, tensors: tensors))
    }
    var generators: [GeneratorState] = []
    for _ in 0..<(try count("generator count", minimumSize: 8)) {
      let name = try string("generator name", maximumLength: 4096)
      var words: [UInt64] = []
      for _ in 0..<(try count("generator words", minimumSize: 8)) {
        words.append(try u64("generator word"))
      }
      generators.append(GeneratorState(name: name, words: words))
    }
    return CheckpointState(
      optimizer: OptimizerState(iterations: Int(iterations), slots: slots), generators: generators)
  }
}
