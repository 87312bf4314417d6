import ModelFormats
import Tensors
import XCTest

final class ModelSpecMemoryTests: XCTestCase {
  /// The book's network, worked by hand: 933,378 parameters; per sample
  /// the input (784) and the outputs 26·26·32, 24·24·32, 12·12·32 (pool,
  /// dropout, flatten), 200 and 10 sum to 54,882 values, and the two
  /// largest (21,632 and 18,432) are counted again for the gradients.
  func testTrainingTheMNISTNetworkByHand() {
    let spec = Preset.mnistCNN.spec
    let parameters = 933_378
    XCTAssertEqual(spec.parameterMemory.bytes, parameters * 4)
    let adadelta = OptimizerConfiguration.defaults(for: .adadelta)
    let perSample = 54_882 + 21_632 + 18_432
    let expected =
      parameters * 4 * (2 + 2)  // weights, gradients, two slots
      + parameters * 4 * 3 * 2  // a checkpoint being encoded
      + perSample * 4 * 100
    XCTAssertEqual(spec.trainingMemory(batchSize: 100, optimizer: adadelta).bytes, expected)
    let sgd = OptimizerConfiguration.defaults(for: .sgd)
    XCTAssertEqual(
      spec.trainingMemory(batchSize: 100, optimizer: sgd).bytes,
      parameters * 4 * 2 + parameters * 4 * 2 + perSample * 4 * 100)
  }

  func testInferenceCountsTheLargestStepAtAnyInputSize() throws {
    let spec = Preset.mnistCNN.spec
    // Largest step at 28×28: 26·26·32 in, 24·24·32 out.
    XCTAssertEqual(
      spec.inferenceMemory(batchSize: 10).bytes,
      933_378 * 4 + (784 + 21_632 + 18_432) * 4 * 10)
    // A 7360×4912 photo through the first convolution only: the photo and
    // 32 maps of 7358×4910.
    let photo = FeatureShape.image(height: 4912, width: 7360, channels: 1)
    XCTAssertEqual(
      spec.outputShape(forInput: photo, through: 0),
      .image(height: 4910, width: 7358, channels: 32))
    XCTAssertEqual(
      spec.inferenceMemory(batchSize: 1, input: photo, through: 0).bytes,
      933_378 * 4 + 4912 * 7360 * 4 + (4912 * 7360 + 4910 * 7358 * 32) * 4)
    XCTAssertNil(
      spec.outputShape(forInput: .image(height: 3, width: 3, channels: 1), through: 2),
      "the second convolution's window no longer fits")
  }

  func testOptimizerSlots() {
    XCTAssertEqual(OptimizerConfiguration.defaults(for: .sgd).slotCount, 0)
    XCTAssertEqual(
      OptimizerConfiguration.sgd(learningRate: 0.1, momentum: 0.9, nesterov: false).slotCount, 1)
    XCTAssertEqual(OptimizerConfiguration.defaults(for: .adadelta).slotCount, 2)
    XCTAssertEqual(OptimizerConfiguration.defaults(for: .adam).slotCount, 2)
    XCTAssertEqual(OptimizerConfiguration.defaults(for: .rmsprop).slotCount, 1)
    XCTAssertEqual(
      OptimizerConfiguration.rmsprop(learningRate: 0.1, rho: 0.9, momentum: 0.5, epsilon: 1e-7)
        .slotCount, 2)
  }

  /// A dense layer of a few million units used to pass and then abort at
  /// an 8 GB allocation; 2²⁹ parameters is the most whose checkpoint (with
  /// two optimizer slots) still fits a model file.
  func testParameterLimitKeepsCheckpointsInsideAModelFile() throws {
    XCTAssertThrowsError(
      try ModelSpec.parse("input 28 28 1\nflatten\ndense 2500000 relu\ndense 10 softmax\n")
    ) { error in
      XCTAssertEqual(
        "\(error)", "line 3: model too large: more than 536870912 parameters")
    }
    let limit = ModelSpec.maximumParameterCount
    XCTAssertLessThanOrEqual(limit * 4 * 3, ModelFile.maximumFileSize - (1 << 20))
    // Exactly the limit still parses: 1023·524288 weights + 524288 biases = 2²⁹.
    let atLimit = try ModelSpec.parse("input 1 1 1023\nflatten\ndense 524288\n")
    XCTAssertEqual(atLimit.parameterCount, limit)
  }
}
