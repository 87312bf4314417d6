import Engine
import Tensors
import XCTest

@testable import ModelFormats

/// The one model builder: spec rows → graph nodes, and the plans the
/// planner makes for the presets.
final class GraphBuilderTests: XCTestCase {
  func testMNISTPresetPlan() {
    let network = Preset.mnistCNN.spec.makeModel(seed: 0)
    let inference = [
      ["conv2d", "conv2d/relu"], ["conv2d_1", "conv2d_1/relu", "max_pooling2d"], ["dropout"],
      ["flatten"], ["dense"], ["dense/relu"], ["dense_1"], ["dense_1/softmax"],
    ]
    XCTAssertEqual(network.inferencePlan.steps.map(\.names), inference)
    XCTAssertEqual(network.trainingPlan.steps.map(\.names), inference.dropLast())
    XCTAssertTrue(network.trainingPlan.leavesSoftmaxToLoss)
    XCTAssertEqual(network.trainingPlan.output, "dense_1/linear")
    XCTAssertEqual(network.inferencePlan.output, "dense_1")
    XCTAssertEqual(network.inferencePlan.slotCount, 2)
  }

  func testCIFARPresetPlan() {
    let network = Preset.cifarCNN.spec.makeModel(seed: 0)
    XCTAssertEqual(
      network.trainingPlan.steps.map(\.names),
      [
        ["conv2d", "conv2d/relu"], ["conv2d_1", "conv2d_1/relu", "max_pooling2d"], ["dropout"],
        ["conv2d_2", "conv2d_2/relu"], ["conv2d_3", "conv2d_3/relu", "max_pooling2d_1"],
        ["dropout_1"], ["flatten"], ["dense"], ["dense/relu"], ["dropout_2"], ["dense_1"],
      ])
  }

  /// Rows map to tensors by Keras name, nodes back to rows; the node list
  /// (and so the `layer/N` generator names in checkpoints) is unchanged:
  /// an activation after Conv2D or Dense is a node of its own.
  func testRowsNodesAndTensors() {
    let spec = Preset.mnistCNN.spec
    let network = spec.makeModel(seed: 0)
    XCTAssertEqual(
      network.graph.nodes.map(\.output),
      [
        "conv2d/linear", "conv2d", "conv2d_1/linear", "conv2d_1", "max_pooling2d", "dropout",
        "flatten", "dense/linear", "dense", "dense_1/linear", "dense_1",
      ])
    XCTAssertEqual(
      network.graph.nodes.map { spec.row(ofNode: $0.name) }, [0, 0, 1, 1, 2, 3, 4, 5, 5, 6, 6])
    XCTAssertEqual(spec.layers.indices.map(spec.tensorName(ofRow:)), spec.layerNames)
    XCTAssertNil(spec.row(ofNode: "nothing"))
    XCTAssertEqual(
      network.generatorStates.indices.filter { network.generatorStates[$0] != nil }, [5])
    XCTAssertEqual(
      network.layerOutputShapes()[4], spec.outputShapes[2].tensorShape, "the pool's shape")
  }

  /// Stored weights go where fresh ones were drawn, so the two builders
  /// give the same network.
  func testStoredWeightsRebuildTheSameNetwork() {
    let spec = Preset.cifarCNN.spec
    var fresh = spec.makeModel(seed: 9)
    var stored = spec.makeModel(parameters: fresh.namedParameters(spec), seed: 9)
    var generator = SeededGenerator(seed: 1)
    var input = Tensor(zeros: Shape(2, 3, 32, 32))
    for i in 0..<input.count { input.storage[i] = generator.nextUnitFloat() }
    XCTAssertEqual(try fresh.predict(input), try stored.predict(input))
  }
}
