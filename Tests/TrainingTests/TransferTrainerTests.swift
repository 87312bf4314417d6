import Datasets
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats
@testable import Training

final class TransferTrainerTests: XCTestCase {
  /// A backbone "pre-trained" from seed 7 (its weights are what a model
  /// file would hold): conv, relu, pool, dropout, flatten, dense.
  static let source = Stripes.network

  /// The source network cut after row `row`.
  static func backbone(throughRow row: Int) throws -> Graph {
    let graph = source.makeGraph(parameters: source.makeModel(seed: 7).namedParameters(source))
    return try TransferTrainer.backbone(of: graph, through: source.tensorName(ofRow: row))
  }

  static func trainer(
    throughRow row: Int = 1, head: String? = nil, epochs: Int = 3,
    transfer: TransferConfiguration = .init(), augmentation: Augmentation = Augmentation()
  ) throws -> TransferTrainer {
    let backbone = try backbone(throughRow: row)
    let input = FeatureShape(backbone.tensorShapes.last!)
    let headSpec =
      try head.map { try ModelSpec.head(parsing: $0, input: input) }
      ?? ModelSpec.defaultHead(input: input, classes: 3)
    return try TransferTrainer(
      backbone: backbone, head: headSpec, optimizer: Stripes.adam,
      configuration: TrainingConfiguration(
        epochs: epochs, batchSize: 16, validationSplit: 0.2, seed: 3, augmentation: augmentation),
      transfer: transfer)
  }

  static let data = Stripes.data(count: 120, seed: 5)

  func testTheBackboneKeepsOnlyWhatTheNodeDependsOn() throws {
    let backbone = try Self.backbone(throughRow: 1)
    XCTAssertEqual(backbone.nodes.map(\.name), ["conv2d", "conv2d/relu", "max_pooling2d"])
    XCTAssertEqual(backbone.output, "max_pooling2d")
    XCTAssertThrowsError(
      try TransferTrainer.backbone(of: backbone, through: "nothing")
    )
  }

  func testFrozenWeightsAreUnchangedBitForBit() throws {
    var trainer = try Self.trainer(throughRow: 4)
    let before = trainer.parameterValues.prefix(trainer.backboneParameterCount)
    let headBefore = trainer.parameterValues.suffix(from: trainer.backboneParameterCount)
    try trainer.fit(Self.data)
    let after = trainer.parameterValues
    XCTAssertEqual(Array(after.prefix(trainer.backboneParameterCount)), Array(before))
    XCTAssertNotEqual(Array(after.suffix(from: trainer.backboneParameterCount)), Array(headBefore))
    XCTAssertEqual(trainer.history.count, 3)
  }

  /// The frozen epochs are training the head alone on precomputed
  /// features: a plain `Trainer` of the head spec on the backbone's
  /// outputs gives the same weights, bit for bit, and the same history.
  func testHeadOnlyTrainingEqualsTrainingTheHeadOnPrecomputedFeatures() throws {
    for (row, head) in [(1, nil), (4, "dense 6 relu; dropout 0.5; dense 3 softmax")] {
      var transfer = try Self.trainer(throughRow: row, head: head)
      try transfer.fit(Self.data)

      // 100 at a time, as the trainer computes them: a Dense kernel's
      // rounding depends on the batch.
      var backbone = Network(try Self.backbone(throughRow: row))
      let features = try backbone.predict(Self.data.images, batchSize: 100)
      let precomputed = Dataset(
        features: features, labels: Self.data.labels, classNames: Self.data.classNames)
      var plain = try Trainer(
        spec: transfer.head, optimizer: Stripes.adam,
        configuration: TrainingConfiguration(
          epochs: 3, batchSize: 16, validationSplit: 0.2, seed: 3))
      try plain.fit(precomputed)

      var headWeights: [Tensor] = []
      var model = plain.model
      model.forEachParameter { headWeights.append($0.value) }
      XCTAssertEqual(
        Array(transfer.parameterValues.suffix(from: transfer.backboneParameterCount)), headWeights,
        "row \(row)")
      XCTAssertEqual(transfer.history.map(\.loss), plain.history.map(\.loss))
      XCTAssertEqual(
        transfer.history.map(\.validationLoss), plain.history.map(\.validationLoss))
    }
  }

  /// The cache is a fast path: computing the features every batch
  /// instead gives the same model (for a convolutional backbone, whose
  /// outputs do not depend on the batch they are computed in).
  func testCachedFeaturesTrainAsFeaturesComputedEveryBatch() throws {
    var cached = try Self.trainer(throughRow: 1)
    var uncached = try Self.trainer(
      throughRow: 1, transfer: TransferConfiguration(cachesFeatures: false))
    try cached.fit(Self.data)
    try uncached.fit(Self.data)
    XCTAssertNotNil(cached.features)
    XCTAssertNil(uncached.features)
    XCTAssertEqual(cached.parameterValues, uncached.parameterValues)
    XCTAssertEqual(cached.history.map(\.validationLoss), uncached.history.map(\.validationLoss))
  }

  /// The features are computed once, before the first frozen epoch
  /// starts, and reported in batches of 100; an unfrozen run (or one
  /// without the cache) reports none.
  func testFeaturesAreReportedBeforeTheFirstEpoch() throws {
    func events(_ transfer: TransferConfiguration) throws -> [String] {
      var trainer = try Self.trainer(throughRow: 1, epochs: 2, transfer: transfer)
      var events: [String] = []
      try trainer.fit(Self.data) { event in
        switch event {
        case .featuresComputed(let done, let samples): events.append("features \(done)/\(samples)")
        case .epochStarted(let epoch, _, _, _): events.append("start \(epoch)")
        case .batchFinished: break
        case .epochFinished(let record): events.append("end \(record.epoch)")
        }
      }
      return events
    }
    XCTAssertEqual(
      try events(.init()),
      ["features 100/120", "features 120/120", "start 1", "end 1", "start 2", "end 2"])
    XCTAssertEqual(
      try events(.init(cachesFeatures: false)), ["start 1", "end 1", "start 2", "end 2"])
    XCTAssertEqual(
      try events(.init(unfreezeAfter: 0)), ["start 1", "end 1", "start 2", "end 2"])
  }

  func testUnfreezingTrainsTheBackboneAtTheLowerRate() throws {
    var frozen = try Self.trainer(throughRow: 4, epochs: 3)
    var tuned = try Self.trainer(
      throughRow: 4, epochs: 3, transfer: TransferConfiguration(unfreezeAfter: 1))
    let original = frozen.parameterValues
    try frozen.fit(Self.data)
    try tuned.fit(Self.data)
    let count = tuned.backboneParameterCount
    XCTAssertEqual(count, 4)
    for k in 0..<count {
      XCTAssertNotEqual(tuned.parameterValues[k], original[k], "backbone weight \(k)")
    }
    // The first epoch is frozen in both: the same record.
    XCTAssertEqual(tuned.history[0].loss, frozen.history[0].loss)
    XCTAssertNotEqual(tuned.history[2].loss, frozen.history[2].loss)

    // A smaller factor moves the backbone less (Adam's step is about the rate).
    var gentle = try Self.trainer(
      throughRow: 4, epochs: 3,
      transfer: TransferConfiguration(unfreezeAfter: 1, fineTuneFactor: 0.01))
    try gentle.fit(Self.data)
    func moved(_ values: [Tensor]) -> Float {
      (0..<count).map { k in
        zip(values[k].storage, original[k].storage).map { abs($0 - $1) }.reduce(0, +)
      }.reduce(0, +)
    }
    XCTAssertLessThan(moved(gentle.parameterValues), moved(tuned.parameterValues))
  }

  func testSameSeedSameModelFile() throws {
    let spec = try Self.source.keepingRows(through: 4).appending(
      ModelSpec.head(parsing: "dense 3 softmax", input: .flat(8)))
    var files: [[UInt8]] = []
    for _ in 0..<2 {
      var trainer = try Self.trainer(
        throughRow: 4, head: "dense 3 softmax", epochs: 3,
        transfer: TransferConfiguration(unfreezeAfter: 1))
      try trainer.fit(Self.data)
      files.append(
        trainer.modelFile(spec: spec, dataset: "stripes", classNames: [], resize: .fill)
          .encoded())
    }
    XCTAssertEqual(files[0], files[1])
    // The file is the combined network: its output is the trainer's.
    var trainer = try Self.trainer(throughRow: 4, head: "dense 3 softmax", epochs: 1)
    try trainer.fit(Self.data)
    let file = trainer.modelFile(spec: spec, dataset: "", classNames: [], resize: .fill)
    let images = Self.data.batch(0..<10).images
    var saved = file.makeModel()
    var joined = trainer.network
    XCTAssertEqual(
      try saved.forward(images, mode: .inference), try joined.forward(images, mode: .inference))
  }

  func testHeadParsingRefusesWhatDoesNotFit() throws {
    XCTAssertThrowsError(try ModelSpec.head(parsing: "dense 3 softmax", input: .image(2, 2, 4)))
    XCTAssertThrowsError(try ModelSpec.head(parsing: "conv2d 4 3", input: .flat(16)))
    XCTAssertThrowsError(try ModelSpec.head(parsing: "input 1 1 16; dense 3", input: .flat(16))) {
      XCTAssertEqual($0 as? ModelSpecError, .misplacedInput(line: 1))
    }
    XCTAssertThrowsError(try ModelSpec.head(parsing: "# nothing", input: .flat(16))) {
      XCTAssertEqual($0 as? ModelSpecError, .empty)
    }
    let head = try ModelSpec.head(parsing: "flatten; dense 3 softmax", input: .image(2, 2, 4))
    XCTAssertEqual(head, try ModelSpec.defaultHead(input: .image(2, 2, 4), classes: 3))
    XCTAssertEqual(head.classCount, 3)
  }
}

extension FeatureShape {
  fileprivate static func image(_ h: Int, _ w: Int, _ c: Int) -> FeatureShape {
    .image(height: h, width: w, channels: c)
  }
}
