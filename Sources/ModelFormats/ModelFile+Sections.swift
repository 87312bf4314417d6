import Engine
import Tensors

/// The body sections of model.bin after the spec: training metadata and
/// checkpoint state (docs/model-format.md).
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

  /// The training-options section (flag bit 2, docs/model-format.md).
  mutating func trainingOptions(_ metadata: TrainingMetadata) {
    string(metadata.augmentation)
    string(metadata.learningRateSchedule)
    u32(UInt32(metadata.earlyStoppingPatience))
    u8(metadata.saveBest ? 1 : 0)
    u8(metadata.keptWeights?.role.rawValue ?? 0)
    let kept = metadata.keptWeights?.tensors ?? []
    u32(UInt32(kept.count))
    for tensor in kept { self.tensor(tensor) }
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

  mutating func trainingOptions(into metadata: inout TrainingMetadata) throws(ByteReaderError) {
    metadata.augmentation = try string("augmentation", maximumLength: 4096)
    metadata.learningRateSchedule = try string("learning-rate schedule", maximumLength: 4096)
    metadata.earlyStoppingPatience = Int(try u32("early-stopping patience"))
    let saveBest = try u8("save-best flag")
    guard saveBest <= 1 else { throw ByteReaderError(reason: "save-best flag \(saveBest)") }
    metadata.saveBest = saveBest == 1
    let code = try u8("kept-weights role")
    var tensors: [NamedTensor] = []
    for _ in 0..<(try count("kept-weights count", minimumSize: 7)) {
      tensors.append(try tensor())
    }
    if code == 0 {
      guard tensors.isEmpty else {
        throw ByteReaderError(reason: "kept weights without a role")
      }
    } else {
      guard let role = KeptWeights.Role(rawValue: code) else {
        throw ByteReaderError(reason: "unknown kept-weights role \(code)")
      }
      metadata.keptWeights = KeptWeights(role: role, tensors: tensors)
    }
  }

  mutating func optimizer() throws(ByteReaderError) -> OptimizerConfiguration {
    let kind = try u8("optimizer kind")
    var p: [Float] = []
    for _ in 0..<4 { p.append(try f32("optimizer hyper-parameter")) }
    let configuration: OptimizerConfiguration
    switch kind {
    case 0: configuration = .sgd(learningRate: p[0], momentum: p[1], nesterov: p[2] != 0)
    case 1: configuration = .adadelta(learningRate: p[0], rho: p[1], epsilon: p[2])
    case 2: configuration = .adam(learningRate: p[0], beta1: p[1], beta2: p[2], epsilon: p[3])
    case 3:
      configuration = .rmsprop(learningRate: p[0], rho: p[1], momentum: p[2], epsilon: p[3])
    default:
      throw ByteReaderError(reason: "unknown optimizer kind \(kind)")
    }
    // The optimizers' initialisers trap on values out of range; a file must not reach them.
    if let problem = configuration.problem {
      throw ByteReaderError(reason: "optimizer \(problem)")
    }
    return configuration
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
