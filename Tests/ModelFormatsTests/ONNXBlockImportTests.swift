import Foundation
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats

/// Two blocks of torchvision's networks written as ONNX in the test (as
/// PyTorch's exporter writes them, shape computations included), imported,
/// and checked against a reference computed here by plain loops: a
/// MobileNetV3 squeeze-and-excitation block and ShuffleNet's channel
/// shuffle, then `x.view(x.size(0), -1)`.
final class ONNXBlockImportTests: XCTestCase {
  static let (c, h, w) = (4, 3, 3)

  /// x → SE (avgpool, 1×1 conv, ReLU, 1×1 conv, hard sigmoid, x · gate) →
  /// channel shuffle of 2 groups → + per-channel bias → LeakyReLU →
  /// flatten by Shape/Gather/Unsqueeze/Concat/Reshape.
  func model(_ weights: Weights) -> ONNXModel {
    let (c, h, w) = (Self.c, Self.h, Self.w)
    func ints(_ name: String, _ values: [Int64]) -> ONNXTensor {
      ONNXTensor(name: name, dims: [values.count], int64: values)
    }
    func scalar(_ name: String, _ value: Int64) -> ONNXTensor {
      ONNXTensor(name: name, dims: [], int64: [value])
    }
    let nodes = [
      ONNXNode(
        name: "pool", opType: "AveragePool", inputs: ["x"], outputs: ["pooled"],
        attributes: [ONNXAttribute("kernel_shape", .ints([h, w]))]),
      ONNXNode(
        name: "fc1", opType: "Conv", inputs: ["pooled", "w1", "b1"], outputs: ["squeezed"],
        attributes: [ONNXAttribute("kernel_shape", .ints([1, 1]))]),
      ONNXNode(name: "relu", opType: "Relu", inputs: ["squeezed"], outputs: ["r"]),
      ONNXNode(
        name: "fc2", opType: "Conv", inputs: ["r", "w2", "b2"], outputs: ["excited"],
        attributes: [ONNXAttribute("kernel_shape", .ints([1, 1]))]),
      ONNXNode(
        name: "gate", opType: "HardSigmoid", inputs: ["excited"], outputs: ["g"],
        attributes: [ONNXAttribute("alpha", .float(1.0 / 6)), ONNXAttribute("beta", .float(0.5))]
      ),
      ONNXNode(name: "scale", opType: "Mul", inputs: ["x", "g"], outputs: ["se"]),
      // channel_shuffle: batchsize = x.size(0) as PyTorch writes it.
      ONNXNode(name: "shape", opType: "Shape", inputs: ["se"], outputs: ["s"]),
      ONNXNode(name: "batch", opType: "Gather", inputs: ["s", "zero"], outputs: ["n"]),
      ONNXNode(
        name: "batch1", opType: "Unsqueeze", inputs: ["n", "axes0"], outputs: ["n1"]),
      ONNXNode(
        name: "split_shape", opType: "Concat", inputs: ["n1", "groups"], outputs: ["split"],
        attributes: [ONNXAttribute("axis", .int(0))]),
      ONNXNode(name: "split", opType: "Reshape", inputs: ["se", "split"], outputs: ["grouped"]),
      ONNXNode(
        name: "swap", opType: "Transpose", inputs: ["grouped"], outputs: ["swapped"],
        attributes: [ONNXAttribute("perm", .ints([0, 2, 1, 3, 4]))]),
      ONNXNode(name: "join", opType: "Reshape", inputs: ["swapped", "joined"], outputs: ["sh"]),
      ONNXNode(name: "bias", opType: "Add", inputs: ["bias", "sh"], outputs: ["biased"]),
      ONNXNode(
        name: "leaky", opType: "LeakyRelu", inputs: ["biased"], outputs: ["l"],
        attributes: [ONNXAttribute("alpha", .float(0.1))]),
      // x.view(x.size(0), -1).
      ONNXNode(name: "shape2", opType: "Shape", inputs: ["l"], outputs: ["s2"]),
      ONNXNode(name: "batch2", opType: "Gather", inputs: ["s2", "zero"], outputs: ["m"]),
      ONNXNode(name: "batch3", opType: "Unsqueeze", inputs: ["m", "axes0"], outputs: ["m1"]),
      ONNXNode(
        name: "flat_shape", opType: "Concat", inputs: ["m1", "minus1"], outputs: ["fs"],
        attributes: [ONNXAttribute("axis", .int(0))]),
      ONNXNode(name: "flatten", opType: "Reshape", inputs: ["l", "fs"], outputs: ["y"]),
    ]
    return ONNXModel(
      opset: 13,
      graph: ONNXGraph(
        name: "blocks",
        inputs: [ONNXValueInfo(name: "x", dims: [.named("N"), .fixed(c), .fixed(h), .fixed(w)])],
        outputs: [ONNXValueInfo(name: "y", dims: [.named("N"), .fixed(c * h * w)])],
        nodes: nodes,
        initializers: [
          ONNXTensor(name: "w1", Tensor(shape: Shape(2, c, 1, 1), storage: weights.w1)),
          ONNXTensor(name: "b1", Tensor(shape: Shape(2), storage: weights.b1)),
          ONNXTensor(name: "w2", Tensor(shape: Shape(c, 2, 1, 1), storage: weights.w2)),
          ONNXTensor(name: "b2", Tensor(shape: Shape(c), storage: weights.b2)),
          ONNXTensor(name: "bias", Tensor(shape: Shape(c, 1, 1), storage: weights.bias)),
          scalar("zero", 0), ints("axes0", [0]), ints("groups", [2, Int64(c / 2), 3, 3]),
          ints("joined", [0, Int64(c), 3, 3]), ints("minus1", [-1]),
        ]))
  }

  struct Weights {
    var w1, b1, w2, b2, bias: [Float]
  }

  /// The same blocks by plain loops, from the formulas.
  func reference(_ x: Tensor, _ p: Weights) -> Tensor {
    let (c, h, w) = (Self.c, Self.h, Self.w)
    let plane = h * w
    var output: [Float] = []
    for n in 0..<x.batchCount {
      let sample = Array(x.storage[(n * c * plane)..<((n + 1) * c * plane)])
      let mean = (0..<c).map { ch in sample[(ch * plane)..<((ch + 1) * plane)].reduce(0, +) / 9 }
      let hidden = (0..<2).map { o in
        max(0, (0..<c).reduce(p.b1[o]) { $0 + p.w1[o * c + $1] * mean[$1] })
      }
      let gate = (0..<c).map { o in
        let z = (0..<2).reduce(p.b2[o]) { $0 + p.w2[o * 2 + $1] * hidden[$1] }
        return min(max(z / 6 + 0.5, 0), 1)
      }
      // Shuffle of 2 groups of 2: output channel 2j + g is input g·2 + j.
      for out in 0..<c {
        let source = (out % 2) * (c / 2) + out / 2
        for i in 0..<plane {
          let v = sample[source * plane + i] * gate[source] + p.bias[out]
          output.append(v < 0 ? 0.1 * v : v)
        }
      }
    }
    return Tensor(shape: Shape(x.batchCount, c * plane), storage: output)
  }

  func testSqueezeExcitationAndChannelShuffleMatchTheReference() throws {
    var generator = SeededGenerator(seed: 40)
    func random(_ count: Int) -> [Float] { (0..<count).map { _ in generator.nextFloat(in: -1, 1) } }
    let weights = Weights(
      w1: random(2 * Self.c), b1: random(2), w2: random(Self.c * 2), b2: random(Self.c),
      bias: random(Self.c))
    let bytes = model(weights).encoded()
    let onnx = try ONNXModel.decode(bytes, path: "blocks.onnx")
    var network = try onnx.makeNetwork(path: "blocks.onnx")
    let x = Tensor(shape: Shape(3, Self.c, Self.h, Self.w), storage: random(3 * 36))
    let output = try network.forward(x, mode: .inference)
    let expected = reference(x, weights)
    XCTAssertEqual(output.shape, expected.shape)
    XCTAssertLessThan(output.maxAbsoluteDifference(to: expected), 1e-5)
    // The shape computations were folded: the engine runs three reshapes
    // and no Shape, Gather, Unsqueeze or Concat.
    let kinds = network.graph.nodes.map(\.op.kind)
    XCTAssertEqual(kinds.filter { $0 == "Reshape" }.count, 3, "\(kinds)")
    XCTAssertFalse(kinds.contains("Concatenate"), "\(kinds)")
    XCTAssertTrue(kinds.contains("Transpose") && kinds.contains("HardSigmoid"), "\(kinds)")
    // The summary names each node's op and its per-sample shape, rank 4
    // inside the shuffle; the constant bias counts as 4 parameters.
    let table = GraphSummary(network).render(title: "blocks")
    let lines = table.split(separator: "\n")
    for (node, shape) in [
      ("gate (HardSigmoid)", "(None, 4, 1, 1)"), ("scale (Mul)", "(None, 4, 3, 3)"),
      ("split (Reshape)", "(None, 2, 2, 3, 3)"), ("swap (Transpose)", "(None, 2, 2, 3, 3)"),
      ("leaky (LeakyReLU)", "(None, 4, 3, 3)"), ("flatten (Reshape)", "(None, 36)"),
    ] {
      XCTAssertTrue(lines.contains { $0.contains(node) && $0.contains(shape) }, "\(node)\n\(table)")
    }
    XCTAssertTrue(lines.contains { $0.contains("bias (Add)") && $0.hasSuffix(" 4") }, table)
    XCTAssertFalse(table.contains("(Shape)") || table.contains("(Gather)"), table)
    // Gradients reach the input through every op: the sum of the outputs
    // moves as the input gradient says.
    _ = try network.forwardForGradients(x)
    let ones = Tensor(shape: output.shape, repeating: 1)
    let dInput = try XCTUnwrap(try network.backwardForGradients(ones, inputGradient: true).dInput)
    let i = 13
    var plus = x
    var minus = x
    plus.storage[i] += 1e-2
    minus.storage[i] -= 1e-2
    let numeric =
      (try network.forward(plus, mode: .inference).storage.reduce(0, +)
        - network.forward(minus, mode: .inference).storage.reduce(0, +)) / 2e-2
    XCTAssertEqual(dInput.storage[i], numeric, accuracy: 1e-2 * max(1, abs(numeric)))
  }

  /// A Reshape whose first size is not the batch is refused at load,
  /// naming the node.
  func testReshapeAcrossTheBatchIsRefused() throws {
    var onnx = model(
      Weights(
        w1: .init(repeating: 0, count: 8), b1: [0, 0], w2: .init(repeating: 0, count: 8),
        b2: [0, 0, 0, 0], bias: [0, 0, 0, 0]))
    let k = try XCTUnwrap(onnx.graph.initializers.firstIndex { $0.name == "joined" })
    onnx.graph.initializers[k] = ONNXTensor(name: "joined", dims: [3], int64: [-1, 3, 3])
    XCTAssertThrowsError(try onnx.makeGraph()) { error in
      guard case .unsupportedNode(let node, let op, let reason) = error as? ONNXProblem else {
        return XCTFail("\(error)")
      }
      XCTAssertEqual(node, "join")
      XCTAssertEqual(op, "Reshape")
      XCTAssertTrue(reason.contains("batch axis"), reason)
    }
  }

  /// ShuffleNet's global pool, `x.mean([2, 3])`: the mean of each channel's
  /// plane, by hand.
  func testReduceMeanOverThePlane() throws {
    for (axes, keep) in [([2, 3], 0), ([-1, -2], 1)] {
      let onnx = ONNXModel(
        opset: 13,
        graph: ONNXGraph(
          name: "mean",
          inputs: [ONNXValueInfo(name: "x", dims: [.named("N"), .fixed(2), .fixed(2), .fixed(3)])],
          outputs: [ONNXValueInfo(name: "y", dims: nil)],
          nodes: [
            ONNXNode(
              name: "mean", opType: "ReduceMean", inputs: ["x"], outputs: ["y"],
              attributes: [
                ONNXAttribute("axes", .ints(axes)), ONNXAttribute("keepdims", .int(keep)),
              ])
          ],
          initializers: []))
      var network = try ONNXModel.decode(onnx.encoded(), path: "m").makeNetwork(path: "m")
      let x = Tensor(shape: Shape(1, 2, 2, 3), storage: [1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 12])
      let y = try network.forward(x, mode: .inference)
      XCTAssertEqual(y.shape, keep == 1 ? Shape(1, 2, 1, 1) : Shape(1, 2))
      XCTAssertEqual(y.storage, [3.5, 2])
    }
  }
}
