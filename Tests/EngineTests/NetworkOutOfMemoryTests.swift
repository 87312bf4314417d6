import Tensors
import XCTest
import _Runtime

@testable import Engine

/// A kernel that cannot get its scratch memory makes the network throw
/// `EngineError.outOfMemory` (once a `fatalError`, a crash with a
/// backtrace), and leaves the network able to run again once memory is
/// back, with the same results as a network that never failed.
final class NetworkOutOfMemoryTests: XCTestCase {
  override func tearDown() { cvz_set_allocation_limit(0) }

  private func assertOutOfMemory<T>(
    _ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line
  ) {
    cvz_set_allocation_limit(1)
    defer { cvz_set_allocation_limit(0) }
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
      guard case .outOfMemory(let operation) = error as? EngineError else {
        return XCTFail("expected outOfMemory, got \(error)", file: file, line: line)
      }
      XCTAssertTrue(operation.hasPrefix("Conv2D"), operation, file: file, line: line)
    }
  }

  func testInferenceThrowsAndRecovers() throws {
    let (images, _) = SequentialTests.bars(count: 6, seed: 11)
    var network = SequentialTests.tinyNet(seed: 3)
    var untouched = network
    assertOutOfMemory(try network.forward(images, mode: .inference))
    assertOutOfMemory(try network.predict(images, batchSize: 4))
    assertOutOfMemory(try network.activation(of: network.graph.nodes[0].name, for: images))
    XCTAssertEqual(
      try network.forward(images, mode: .inference),
      try untouched.forward(images, mode: .inference))
  }

  func testTrainingStepThrowsAndLeavesNoHalfStep() throws {
    let (images, labels) = SequentialTests.bars(count: 6, seed: 12)
    var network = SequentialTests.tinyNet(seed: 4)
    var untouched = network
    assertOutOfMemory(try network.trainingStep(input: images, labels: labels))
    // The failed step's forward is not left for a backward to retrace.
    XCTAssertNil(network.pendingBackwardRun)
    let after = try network.trainingStep(input: images, labels: labels)
    let expected = try untouched.trainingStep(input: images, labels: labels)
    XCTAssertEqual(after.loss, expected.loss)
    XCTAssertEqual(after.output, expected.output)
    var gradients: [Float] = []
    var expectedGradients: [Float] = []
    network.forEachParameter { gradients += $0.grad.storage }
    untouched.forEachParameter { expectedGradients += $0.grad.storage }
    XCTAssertEqual(gradients, expectedGradients)
  }

  func testBackwardThrows() throws {
    let (images, labels) = SequentialTests.bars(count: 6, seed: 13)
    var network = SequentialTests.tinyNet(seed: 5)
    let output = try network.forward(images, mode: .training)
    let dOutput = SoftmaxCrossEntropy.lossAndGradient(probabilities: output, labels: labels)
      .dProbabilities
    assertOutOfMemory(try network.backward(dOutput, inputGradient: true))
  }
}
