import Datasets
import Engine
import Files
import Foundation
import ModelFormats
import Tensors
import Training
import Visualization

extension Train {
  /// Where a transfer run from an imported (ONNX or Keras) backbone writes
  /// unless told: such a network is saved as ONNX.
  static let defaultTransferOutput = "output/model.onnx"

  /// `train --from MODEL --freeze NODE`: cuts MODEL after NODE, puts a new
  /// head on it and trains (see `TransferTrainer`). Everything is checked
  /// before the first epoch; the model, history and pictures are written
  /// once, at the end.
  func runTransfer(from path: String) throws {
    let loaded = try ModelArgument.loadModel(path, memory: memory)
    let imported = loaded.spec == nil
    let output = imported && outputOption == nil ? Self.defaultTransferOutput : self.output
    if imported && !output.lowercased().hasSuffix(".onnx") {
      throw CommandFailure.usage(
        "\(path) is an imported model; the transferred network is saved as ONNX: give -o "
          + "FILE.onnx")
    }
    try OutputPaths.makeParentFolder(of: output)
    let lock = try FileLock(protecting: output)
    defer { lock.release() }
    if FileManager.default.fileExists(atPath: output) && !overwrite {
      throw CommandFailure.usage("\(output) already exists; pass --overwrite to replace it")
    }
    let node = try LayerArgument.node(transfer.freeze ?? "", in: loaded, path: path)
    let backbone: Graph
    do {
      backbone = try TransferTrainer.backbone(of: loaded.network.graph, through: node.tensor)
    } catch {
      preconditionFailure("a resolved node is a tensor of the graph: \(error)")
    }
    let featureShape = backbone.tensorShapes.last ?? backbone.inputShape
    guard featureShape.rank == 3 || featureShape.rank == 1 else {
      throw CommandFailure.usage(
        "--freeze \(transfer.freeze ?? ""): its output \(featureShape.dims) is neither maps "
          + "(channels, height, width) nor flat features; freeze at another layer")
    }
    let features = FeatureShape(featureShape)

    let mode = resize.resize ?? loaded.resize
    var splits = try labels.load(
      data.folder, format: data.format, limit: data.limit, for: loaded.input, resize: mode,
      shorterSide: loaded.preprocessing.shorterSide, seed: seed,
      decodeOptions: data.decoding.decodeOptions, folderOptions: data.folderReading)
    splits.train.preprocessing = loaded.preprocessing
    splits.test?.preprocessing = loaded.preprocessing
    let classes = splits.train.classNames.count
    let head = try headSpec(input: features, classes: classes, data: splits.train)
    let combinedSpec = try loaded.spec.map { spec in
      do {
        return try spec.keepingRows(through: node.index ?? 0).appending(head)
      } catch {
        throw CommandFailure("\(path) with the head: \(error)")
      }
    }

    let trainingCount = ValidationSplit.trainingCount(
      samples: splits.train.count, fraction: validationSplit)
    let batch = max(1, min(batchSize, trainingCount))
    // The backbone's inference, and (for fine-tuning an imported one) its
    // gradients and two optimizer slots; a model.bin's whole is its spec's.
    var estimate = CommandMemory.dataset(splits)
    estimate += loaded.inferenceMemory(batchSize: batch, through: node.index)
    if transfer.unfreezeAfter != nil && combinedSpec == nil {
      estimate += MemoryEstimate.sum(loaded.parameters.map { .floats($0.tensor.count) }) * 3
    }
    estimate += head.trainingMemory(batchSize: batch, optimizer: optimizerConfiguration)
    if transfer.unfreezeAfter != nil, let combinedSpec {
      estimate += combinedSpec.trainingMemory(batchSize: batch, optimizer: optimizerConfiguration)
    }
    try memory.check(estimate, for: "\(path): transfer training on \(data.describe(splits))")
    let cache = MemoryEstimate.floats(splits.train.count, featureShape.count)
    let caches =
      augmentation.isIdentity && (transfer.unfreezeAfter ?? 1) > 0
      && (estimate + cache).bytes.map { $0 <= memory.budget.bytes } == true
    if augmentation.isIdentity && (transfer.unfreezeAfter ?? 1) > 0 && !caches {
      Terminal.note(
        "the features of \(plural(splits.train.count, "sample")) (\(cache)) do not fit in "
          + "--max-memory besides the rest; computing them every batch instead")
    }

    var trainer = try TransferTrainer(
      backbone: backbone, head: head, optimizer: optimizerConfiguration,
      configuration: TrainingConfiguration(
        epochs: epochs, batchSize: batchSize, validationSplit: validationSplit, seed: seed,
        augmentation: augmentation, learningRateSchedule: schedule,
        weightDecay: weightDecay ?? 0),
      transfer: transfer.configuration(cachesFeatures: caches))
    Terminal.say(
      "training \(path) frozen through \(node.name) (features \(features)) with a new head of "
        + "\(TextFormat.grouped(head.parameterCount)) parameters on \(data.describe(splits)): "
        + "\(trainingCount) training, \(splits.train.count - trainingCount) validation samples; "
        + "\(optimizerConfiguration)" + Self.optionsSummary(trainer.configuration)
        + (transfer.unfreezeAfter.map {
          "; fine-tuning after epoch \($0) at × \(trainer.transfer.fineTuneFactor)"
        } ?? ""))
    var reporter = TrainingReporter(
      configuration: trainer.configuration, baseRate: trainer.baseLearningRate,
      history: trainer.history)
    try trainer.fit(splits.train) { reporter.report($0) }

    let picturePrefix = TrainingPictures.prefix(forModelAt: output)
    let historyPath = history ?? picturePrefix + ".csv"
    var pictures = try TrainingPictures.writeCurves(trainer.history, pathPrefix: picturePrefix)
    if let test = splits.test {
      var network = trainer.network
      let result = try network.evaluation(on: test, input: loaded.input)
      try TrainingPictures.writeConfusionMatrix(
        result.confusion, classNames: splits.train.classNames,
        to: picturePrefix + "-confusion.png")
      pictures.append(picturePrefix + "-confusion.png")
      Terminal.say(
        "test loss \(TextFormat.fixed(result.loss, 4))  test accuracy "
          + "\(TextFormat.fixed(result.accuracy, 4)) (\(plural(test.count, "sample")))")
    }
    try AtomicFile.write(EpochRecord.csv(trainer.historyWithLearningRates), to: historyPath)
    try save(trainer, spec: combinedSpec, loaded: loaded, splits: splits, to: output, mode: mode)
    Terminal.say("wrote \(output) (\(plural(trainer.epochsCompleted, "epoch"))) and \(historyPath)")
    for picture in pictures { Terminal.say("wrote \(picture)") }
  }

  /// `--head` (inline or a file) for features shaped `input`, else the
  /// default; its output must be one score per class of `data`.
  private func headSpec(input: FeatureShape, classes: Int, data: Dataset) throws -> ModelSpec {
    guard let option = transfer.head else {
      return try ModelSpec.defaultHead(input: input, classes: classes)
    }
    var text = option
    if Path.isFile(option) {
      let bytes = try FileContents.read(option, maximumBytes: 1 << 20)
      guard let file = String(validating: bytes, as: UTF8.self) else {
        throw CommandFailure("\(option): not a model spec (not UTF-8 text)")
      }
      text = file
    }
    let head: ModelSpec
    do {
      head = try ModelSpec.head(parsing: text, input: input)
    } catch .misplacedInput {
      throw CommandFailure.usage(
        "--head takes layers only: its input is the frozen features \(input)")
    } catch .empty {
      throw CommandFailure.usage("--head has no layers")
    } catch {
      throw CommandFailure.usage("--head: \(error) (the features are \(input))")
    }
    guard case .flat(let outputs) = head.outputShape else {
      throw CommandFailure.usage(
        "--head ends in \(head.outputShape), not one score per class; end it with `flatten` and "
          + "`dense \(classes) softmax`")
    }
    guard outputs == classes else {
      throw CommandFailure.usage(
        "--head ends in \(outputs) outputs but \(data.describe) has \(plural(classes, "class"))"
          + "; end it with `dense \(classes) softmax`")
    }
    return head
  }

  /// Writes the trained network: a `model.bin` of the backbone's rows and
  /// the head for a convviz backbone, else ONNX with the data's class
  /// names, the resize mode and the backbone's preprocessing.
  private func save(
    _ trainer: TransferTrainer, spec: ModelSpec?, loaded: LoadedModel, splits: DatasetSplits,
    to output: String, mode: ResizeMode
  ) throws {
    if let spec {
      try trainer.modelFile(
        spec: spec, dataset: data.describe(splits), classNames: splits.train.classNames,
        resize: mode
      ).write(to: output)
      return
    }
    var metadata = [ONNXMetadataEntry("convviz.resize", "\(mode)")]
    metadata += loaded.preprocessing.metadataEntries.map { ONNXMetadataEntry($0.key, $0.value) }
    if !splits.train.classNames.isEmpty {
      metadata.append(
        ONNXMetadataEntry("convviz.class_names", splits.train.classNames.joined(separator: "\n")))
    }
    let model: ONNXModel
    do {
      model = try ONNXModel(exporting: trainer.network.graph, metadata: metadata)
    } catch {
      throw CommandFailure("\(output): cannot save the network as ONNX: \(error)")
    }
    try model.write(to: output)
  }
}

extension Dataset {
  /// "5 classes" style description for messages: the class names.
  fileprivate var describe: String {
    classNames.isEmpty ? "the data" : "the data (\(classNames.joined(separator: ", ")))"
  }
}
