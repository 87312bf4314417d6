@testable import Engine
import Tensors
import XCTest

final class SequentialTests: XCTestCase {
  /// The seed's MNIST network, built layer by layer.
  static func mnistCNN(seed: UInt64) -> Sequential {
    var g = SeededGenerator(seed: seed)
    return Sequential(
      inputShape: Shape(1, 28, 28),
      layers: [
        Conv2D(inputChannels: 1, filters: 32, kernelSize: (3, 3), generator: &g),
        Activation(.relu),
        Conv2D(inputChannels: 32, filters: 32, kernelSize: (3, 3), generator: &g),
        Activation(.relu),
        Pooling2D(.max),
        Dropout(rate: 0.25, generator: g.split()),
        Flatten(),
        Dense(inputFeatures: 4608, units: 200, generator: &g),
        Activation(.relu),
        Dense(inputFeatures: 200, units: 10, generator: &g),
        Activation(.softmax),
      ])
  }

  /// A small net for 8×8 two-class images.
  static func tinyNet(seed: UInt64) -> Sequential {
    var g = SeededGenerator(seed: seed)
    return Sequential(
      inputShape: Shape(1, 8, 8),
      layers: [
        Conv2D(inputChannels: 1, filters: 4, kernelSize: (3, 3), padding: .same, generator: &g),
        Activation(.relu),
        Pooling2D(.max),
        Dropout(rate: 0.2, generator: g.split()),
        Flatten(),
        Dense(inputFeatures: 64, units: 2, generator: &g),
        Activation(.softmax),
      ])
  }

  /// Horizontal (class 0) or vertical (class 1) bars with noise.
  static func bars(count: Int, seed: UInt64) -> (Tensor, [Int]) {
    var g = SeededGenerator(seed: seed)
    var images = Tensor(zeros: Shape(count, 1, 8, 8))
    var labels: [Int] = []
    for n in 0..<count {
      let label = Int(g.next() % 2)
      let line = Int(g.next() % 8)
      for y in 0..<8 {
        for x in 0..<8 {
          let on = label == 0 ? y == line : x == line
          images.storage[images.offset(n: n, c: 0, y: y, x: x)] =
            (on ? 1 : 0) + g.nextFloat(in: -0.2, 0.2)
        }
      }
      labels.append(label)
    }
    return (images, labels)
  }

  func testMNISTShapesAndParameterCount() {
    let model = Self.mnistCNN(seed: 0)
    XCTAssertEqual(
      model.layerOutputShapes(),
      [
        Shape(32, 26, 26), Shape(32, 26, 26), Shape(32, 24, 24), Shape(32, 24, 24),
        Shape(32, 12, 12),
        Shape(32, 12, 12), Shape(4608), Shape(200), Shape(200), Shape(10), Shape(10),
      ])
    XCTAssertEqual(model.parameterCount, 933_378)
    var names: [String] = []
    var copy = model
    copy.forEachParameter { names.append($0.name) }
    XCTAssertEqual(names, ["kernel", "bias", "kernel", "bias", "kernel", "bias", "kernel", "bias"])
  }

  private func sgd(_ model: inout Sequential, rate: Float) {
    model.forEachParameter { p in
      for i in 0..<p.value.count { p.value.storage[i] -= rate * p.grad.storage[i] }
    }
  }

  func testTrainingLearnsBars() throws {
    var model = Self.tinyNet(seed: 1)
    let (images, labels) = Self.bars(count: 64, seed: 2)
    let first = try model.trainingStep(input: images, labels: labels).loss
    sgd(&model, rate: 0.5)
    for _ in 0..<60 {
      _ = try model.trainingStep(input: images, labels: labels)
      sgd(&model, rate: 0.5)
    }
    let (testImages, testLabels) = Self.bars(count: 100, seed: 3)
    // Training's evaluation routine is out of the engine's reach; the same
    // two numbers from the engine's own pieces.
    let output = try model.predict(testImages, batchSize: 30)
    let loss = SoftmaxCrossEntropy.lossAndGradient(probabilities: output, labels: testLabels).loss
    let correct = zip(output.argmaxPerSample(), testLabels).filter { $0 == $1 }.count
    XCTAssertLessThan(loss, first / 2)
    XCTAssertGreaterThan(Double(correct) / Double(testLabels.count), 0.9)
  }

  func testSameSeedIsBitIdentical() throws {
    let (images, labels) = Self.bars(count: 10, seed: 4)
    func run() throws -> ([Float], Tensor) {
      var model = Self.tinyNet(seed: 5)
      for _ in 0..<3 {
        _ = try model.trainingStep(input: images, labels: labels)
        sgd(&model, rate: 0.1)
      }
      var weights: [Float] = []
      model.forEachParameter { weights += $0.value.storage }
      return (weights, try model.trainingStep(input: images, labels: labels).output)
    }
    let (w1, o1) = try run()
    let (w2, o2) = try run()
    XCTAssertEqual(w1, w2)
    XCTAssertEqual(o1, o2)
    XCTAssertNotEqual(Self.tinyNet(seed: 6).layers.count, 0)
    var other = Self.tinyNet(seed: 6)
    var a: [Float] = []
    other.forEachParameter { a += $0.value.storage }
    XCTAssertNotEqual(a, Array(w1.prefix(a.count)))
  }

  func testGeneratorStatesRoundTrip() throws {
    var model = Self.tinyNet(seed: 7)
    let (images, labels) = Self.bars(count: 8, seed: 8)
    let saved = model.generatorStates
    XCTAssertEqual(saved.compactMap { $0 }.count, 1)
    let first = try model.trainingStep(input: images, labels: labels)
    model.generatorStates = saved
    let again = try model.trainingStep(input: images, labels: labels)
    XCTAssertEqual(first.output, again.output)
  }

  func testPredictInBatchesMatchesWholeBatch() throws {
    var model = Self.tinyNet(seed: 9)
    let (images, _) = Self.bars(count: 25, seed: 10)
    let whole = try model.predict(images, batchSize: 100)
    let pieces = try model.predict(images, batchSize: 7)
    XCTAssertEqual(whole.shape, Shape(25, 2))
    XCTAssertLessThan(whole.maxAbsoluteDifference(to: pieces), 1e-6)
  }

  /// The training plan stops before the output softmax and the loss takes
  /// the logits, so logits that would saturate the probabilities still
  /// give a finite loss and the exact gradient (softmax − onehot) / N.
  func testOutputSoftmaxIsLeftToTheLoss() throws {
    var g = SeededGenerator(seed: 30)
    let dense = Dense(inputFeatures: 4, units: 3, generator: &g)
    var model = Sequential(inputShape: Shape(4), layers: [dense, Activation(.softmax)])
    XCTAssertTrue(model.trainingPlan.leavesSoftmaxToLoss)
    XCTAssertEqual(model.trainingPlan.output, "0")
    XCTAssertFalse(model.inferencePlan.leavesSoftmaxToLoss)
    XCTAssertTrue(model.endsInSoftmax)
    var input = GradientCheck.randomTensor(Shape(5, 4), &g, scale: 100)
    input.storage[0] = 1000
    let labels = [0, 1, 2, 1, 0]
    let step = try model.trainingStep(input: input, labels: labels)
    XCTAssert(step.loss.isFinite)

    var reference = dense
    let logits = try reference.forward(input, mode: .training)
    let loss = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: labels)
    XCTAssertEqual(step.loss, loss.loss)
    XCTAssertEqual(step.output, loss.probabilities)
    _ = try reference.backward(loss.dLogits)
    var gradients: [Tensor] = []
    model.forEachParameter { gradients.append($0.grad) }
    XCTAssertEqual(gradients, [reference.kernel.grad, reference.bias.grad])
  }

  func testConvReLUPairRunsFusedWithSameResults() throws {
    var model = Self.tinyNet(seed: 31)
    XCTAssertEqual(model.trainingPlan.steps[0].names, ["0", "1", "2"], "Conv2D+ReLU+MaxPool")
    let (images, labels) = Self.bars(count: 6, seed: 32)
    let saved = model.generatorStates
    let step = try model.trainingStep(input: images, labels: labels)
    var fusedGradients: [Tensor] = []
    model.forEachParameter { fusedGradients.append($0.grad) }

    // The same computation layer by layer, without the plan's fusion.
    var plain = Self.tinyNet(seed: 31)
    plain.generatorStates = saved
    var layers = LayerByLayer(plain)
    let count = layers.operations.count - 1
    let x = try layers.forward(images, mode: .training, count: count)
    let loss = SoftmaxCrossEntropy.lossAndGradient(logits: x, labels: labels)
    XCTAssertEqual(loss.loss, step.loss, accuracy: 1e-6)
    _ = try layers.backward(loss.dLogits, count: count)
    let plainGradients = layers.gradients()
    XCTAssertEqual(plainGradients.count, fusedGradients.count)
    for (a, b) in zip(fusedGradients, plainGradients) {
      XCTAssertLessThan(a.maxAbsoluteDifference(to: b), 1e-6)
    }
  }

  /// Convolutions whose ReLU and max pooling the plan folds: with a 2×2
  /// pool, with an overlapping 3×3 stride-2 pool, and a pool without ReLU.
  static func pooledNet(seed: UInt64) -> Sequential {
    var g = SeededGenerator(seed: seed)
    return Sequential(
      inputShape: Shape(8, 14, 14),
      layers: [
        Conv2D(inputChannels: 8, filters: 16, kernelSize: (3, 3), padding: .same, generator: &g),
        Activation(.relu),
        Pooling2D(.max),
        Conv2D(inputChannels: 16, filters: 16, kernelSize: (3, 3), generator: &g),
        Activation(.relu),
        Pooling2D(.max, poolSize: (3, 3), strides: (2, 2)),
        Conv2D(inputChannels: 16, filters: 8, kernelSize: (1, 1), generator: &g),
        Pooling2D(.max),
        Flatten(),
        Dense(inputFeatures: 8, units: 3, generator: &g),
        Activation(.softmax),
      ])
  }

  func testConvMaxPoolRunsFusedWithSameResults() throws {
    // The hand-written kernels' fused conv + pool; on an AVX-512 CPU
    // training would take these convolutions to oneDNN, which pools apart,
    // and inference the 16 → 16 one to oneDNN's Winograd.
    OneDNN.isEnabled = false
    defer { OneDNN.isEnabled = true }
    var model = Self.pooledNet(seed: 41)
    XCTAssertEqual(
      model.trainingPlan.steps.map(\.names),
      [["0", "1", "2"], ["3", "4", "5"], ["6", "7"], ["8"], ["9"]])
    var generator = SeededGenerator(seed: 42)
    let images = GradientCheck.randomTensor(Shape(5, 8, 14, 14), &generator)
    let labels = [0, 2, 1, 1, 0]
    // Every pool folds at run time at this batch, so the fused kernels run.
    _ = try model.forward(images, mode: .training)
    XCTAssertEqual(model.pendingBackwardRun?.folded, [2, 2, 1, 0, 0, 0])
    let step = try model.trainingStep(input: images, labels: labels)
    var fusedGradients: [Tensor] = []
    model.forEachParameter { fusedGradients.append($0.grad) }

    // The same computation layer by layer, without the plan's fusion.
    var layers = LayerByLayer(Self.pooledNet(seed: 41))
    let count = layers.operations.count - 1
    let y = try layers.forward(images, mode: .training, count: count)
    let loss = SoftmaxCrossEntropy.lossAndGradient(logits: y, labels: labels)
    XCTAssertEqual(loss.loss, step.loss, "the fused forward is the same arithmetic")
    _ = try layers.backward(loss.dLogits, count: count)
    let plainGradients = layers.gradients()
    XCTAssertEqual(plainGradients.count, fusedGradients.count)
    // The fused backward sums each window's contribution in another order.
    for (a, b) in zip(fusedGradients, plainGradients) {
      XCTAssertEqual(a.shape, b.shape)
      XCTAssertLessThan(a.maxAbsoluteDifference(to: b), 1e-5)
    }

    let predicted = try model.predict(images)
    XCTAssertEqual(predicted.storage, step.output.storage)
  }
}
