import Engine
import Tensors
import XCTest

@testable import ModelFormats

/// The convolution family's import: a MobileNet-style block (depthwise and
/// dilated convolutions, batch normalisation, ReLU6-free pooling) and when
/// batch normalisation is folded into its convolution.
final class ONNXConvolutionImportTests: XCTestCase {
  private var generator = SeededGenerator(seed: 51)

  private func random(_ name: String, _ dims: [Int], positive: Bool = false) -> ONNXTensor {
    var t = Tensor(zeros: Shape(dims))
    for i in 0..<t.count {
      let v = generator.nextFloat(in: -1, 1)
      t.storage[i] = positive ? abs(v) + 0.1 : v
    }
    return ONNXTensor(name: name, t)
  }

  private func norm(_ name: String, input: String, channels c: Int) -> (ONNXNode, [ONNXTensor]) {
    let parts = [
      random("\(name).scale", [c]), random("\(name).B", [c]), random("\(name).mean", [c]),
      random("\(name).var", [c], positive: true),
    ]
    let node = ONNXNode(
      name: name, opType: "BatchNormalization", inputs: [input] + parts.map(\.name),
      outputs: [name], attributes: [ONNXAttribute("epsilon", .float(1e-3))])
    return (node, parts)
  }

  /// x (4, 9, 9) → depthwise 3×3 (group 4, pads 1) → BN → Relu → dilated
  /// 2-group conv (8 filters, dilation 2, stride 2, SAME_LOWER) → BN →
  /// GlobalAveragePool. conv1's BN folds; with `secondReader`, a
  /// GlobalMaxPool reads conv2's output too, so its BN stays a node.
  private func model(secondReader: Bool) -> ONNXModel {
    var initializers = [
      random("w1", [4, 1, 3, 3]), random("b1", [4]), random("w2", [8, 2, 3, 3]),
    ]
    var nodes = [
      ONNXNode(
        name: "conv1", opType: "Conv", inputs: ["x", "w1", "b1"], outputs: ["c1"],
        attributes: [
          ONNXAttribute("group", .int(4)), ONNXAttribute("pads", .ints([1, 1, 1, 1])),
          ONNXAttribute("kernel_shape", .ints([3, 3])),
        ])
    ]
    let (bn1, p1) = norm("bn1", input: "c1", channels: 4)
    nodes += [bn1, ONNXNode(name: "relu", opType: "Relu", inputs: ["bn1"], outputs: ["r"])]
    nodes.append(
      ONNXNode(
        name: "conv2", opType: "Conv", inputs: ["r", "w2"], outputs: ["c2"],
        attributes: [
          ONNXAttribute("group", .int(2)), ONNXAttribute("dilations", .ints([2, 2])),
          ONNXAttribute("auto_pad", .string("SAME_LOWER")),
          ONNXAttribute("strides", .ints([2, 2])),
        ]))
    let (bn2, p2) = norm("bn2", input: "c2", channels: 8)
    nodes.append(bn2)
    nodes.append(
      ONNXNode(name: "gap", opType: "GlobalAveragePool", inputs: ["bn2"], outputs: ["g"]))
    if secondReader {
      nodes.append(ONNXNode(name: "gmp", opType: "GlobalMaxPool", inputs: ["c2"], outputs: ["m"]))
      nodes.append(ONNXNode(name: "sum", opType: "Add", inputs: ["g", "m"], outputs: ["y"]))
    } else {
      nodes.append(ONNXNode(name: "id", opType: "Identity", inputs: ["g"], outputs: ["y"]))
    }
    initializers += p1 + p2
    return ONNXModel(
      opset: 13,
      graph: ONNXGraph(
        name: "block",
        inputs: [ONNXValueInfo(name: "x", dims: [.fixed(2), .fixed(4), .fixed(9), .fixed(9)])],
        outputs: [ONNXValueInfo(name: "y", dims: nil)], nodes: nodes, initializers: initializers))
  }

  /// The same computation with every node run on its own, from the
  /// references: what the imported graph must give.
  private func reference(_ model: ONNXModel, input: Tensor) -> Tensor {
    func value(_ name: String) -> Tensor { model.graph.initializer(named: name)!.floatTensor! }
    func hwio(_ oihw: Tensor) -> Tensor {
      let (o, i, kh, kw) = (oihw.shape[0], oihw.shape[1], oihw.shape[2], oihw.shape[3])
      var t = Tensor(zeros: Shape(kh, kw, i, o))
      for a in 0..<o {
        for b in 0..<i {
          for y in 0..<kh {
            for x in 0..<kw {
              t.storage[((y * kw + x) * i + b) * o + a] =
                oihw.storage[((a * i + b) * kh + y) * kw + x]
            }
          }
        }
      }
      return t
    }
    func bn(_ x: Tensor, _ name: String) -> Tensor {
      batchNormalizationReference(
        input: x, gamma: value("\(name).scale"), beta: value("\(name).B"),
        mean: value("\(name).mean"), variance: value("\(name).var"), epsilon: 1e-3)
    }
    let c1 = conv2dForwardReference(
      input: input, kernel: hwio(value("w1")), bias: value("b1"), strides: (1, 1),
      padding: .symmetric(1), groups: 4)
    let normalised = bn(c1, "bn1")
    let r = Tensor(shape: normalised.shape, storage: normalised.storage.map { max($0, 0) })
    // SAME_LOWER, dilated span 5 at stride 2 over 9: output 5, total pad 4, 2 before.
    let c2 = conv2dForwardReference(
      input: r, kernel: hwio(value("w2")), bias: Tensor(zeros: Shape(8)), strides: (2, 2),
      padding: .symmetric(2), groups: 2, dilations: (2, 2))
    let g = pooling2dForwardReference(
      input: bn(c2, "bn2"), reduction: .average, poolSize: (5, 5), strides: (1, 1), padding: .valid)
    return g
  }

  func testDepthwiseDilatedBlockMatchesReferencesAndFoldsBatchNorm() throws {
    let onnx = model(secondReader: false)
    let graph = try onnx.makeGraph()
    XCTAssertEqual(
      graph.nodes.map(\.op.kind),
      ["Conv2D", "Activation", "Conv2D", "GlobalAveragePooling2D", "Activation"])
    XCTAssertEqual(graph.nodes.map(\.name), ["conv1", "relu", "conv2", "gap", "id"])
    let conv2 = try XCTUnwrap(graph.nodes[2].op as? Conv2D)
    XCTAssertEqual(conv2.groups, 2)
    XCTAssertEqual(conv2.dilations.y, 2)
    var network = Network(graph)
    XCTAssertEqual(network.outputShape, Shape(8, 1, 1))
    let input = try XCTUnwrap(random("x", [2, 4, 9, 9]).floatTensor)
    let output = try network.forward(input, mode: .inference)
    XCTAssertLessThan(output.maxAbsoluteDifference(to: reference(onnx, input: input)), 1e-5)
  }

  func testSummaryNamesGroupsDilationsAndFoldedBatchNorm() throws {
    let text = GraphSummary(Network(try model(secondReader: true).makeGraph())).render(title: "b")
    XCTAssertTrue(text.contains("conv1 (Conv2D, depthwise, BatchNormalization folded in)"), text)
    XCTAssertTrue(text.contains("conv2 (Conv2D, 2 groups, dilation 2) "), text)
    XCTAssertTrue(text.contains("bn2 (BatchNormalization)"), text)
    XCTAssertTrue(text.contains("gmp (GlobalMaxPooling2D)"), text)
  }

  func testBatchNormWithAnotherReaderOfItsInputStaysANode() throws {
    let graph = try model(secondReader: true).makeGraph()
    XCTAssertEqual(
      Set(graph.nodes.map(\.name)), ["conv1", "relu", "conv2", "bn2", "gap", "gmp", "sum"])
    XCTAssertEqual(graph.nodes.first { $0.name == "bn2" }?.op.kind, "BatchNormalization")
  }

  /// Pools with ONNX's options, a batch normalisation with no convolution
  /// before it, and a Flatten of an image into a Gemm.
  private func poolingModel() -> ONNXModel {
    let (bn, parts) = norm("bn", input: "avg", channels: 3)
    let nodes = [
      ONNXNode(
        name: "max", opType: "MaxPool", inputs: ["x"], outputs: ["max"],
        attributes: [
          ONNXAttribute("kernel_shape", .ints([2, 2])), ONNXAttribute("dilations", .ints([2, 1])),
          ONNXAttribute("strides", .ints([2, 2])), ONNXAttribute("pads", .ints([1, 0, 1, 1])),
          ONNXAttribute("ceil_mode", .int(1)),
        ]),
      ONNXNode(
        name: "avg", opType: "AveragePool", inputs: ["max"], outputs: ["avg"],
        attributes: [
          ONNXAttribute("kernel_shape", .ints([3, 3])), ONNXAttribute("strides", .ints([2, 1])),
          ONNXAttribute("pads", .ints([1, 1, 1, 1])), ONNXAttribute("count_include_pad", .int(1)),
          ONNXAttribute("ceil_mode", .int(1)),
        ]),
      bn,
      ONNXNode(name: "flat", opType: "Flatten", inputs: ["bn"], outputs: ["flat"]),
      ONNXNode(name: "fc", opType: "Gemm", inputs: ["flat", "fc.w", "fc.b"], outputs: ["y"]),
    ]
    return ONNXModel(
      opset: 13,
      graph: ONNXGraph(
        name: "pools",
        inputs: [ONNXValueInfo(name: "x", dims: [.fixed(1), .fixed(3), .fixed(9), .fixed(8)])],
        outputs: [ONNXValueInfo(name: "y", dims: nil)], nodes: nodes,
        initializers: parts + [random("fc.w", [36, 5]), random("fc.b", [5])]))
  }

  /// Import → export → import computes the same bits, for every op of the
  /// family and its options.
  func testGraphExportRoundTripIsBitIdentical() throws {
    for (name, onnx) in [
      ("block", model(secondReader: false)), ("branches", model(secondReader: true)),
      ("pools", poolingModel()),
    ] {
      var original = Network(try onnx.makeGraph())
      let exported = try ONNXModel(exporting: original.graph)
      let bytes = exported.encoded()
      var again = try ONNXModel.decode(bytes, path: name).makeNetwork(path: name)
      let shape = Shape([2] + original.inputShape.dims)
      let input = try XCTUnwrap(random("input", shape.dims).floatTensor)
      let expected = try original.forward(input, mode: .inference)
      let output = try again.forward(input, mode: .inference)
      XCTAssertEqual(output.storage.map(\.bitPattern), expected.storage.map(\.bitPattern), name)
      XCTAssertEqual(again.graph.nodes.map(\.name), original.graph.nodes.map(\.name), name)
    }
    XCTAssertEqual(
      try Network(poolingModel().makeGraph()).graph.nodes.map(\.op.kind),
      ["MaxPooling2D", "AveragePooling2D", "BatchNormalization", "Flatten", "Dense"])
  }

  func testDilatedAveragePoolIsNotExported() throws {
    let graph = try Graph(
      chain: [
        Pooling2D(.average, window: PoolWindow(size: (2, 2), strides: (1, 1), dilations: (2, 2)))
      ], inputShape: Shape(1, 5, 5))
    XCTAssertThrowsError(try ONNXModel(exporting: graph)) {
      XCTAssertEqual(
        $0 as? ONNXProblem,
        .unexportableNode(
          node: "0", kind: "AveragePooling2D",
          reason: "AveragePool takes dilations only from opset 19"))
    }
  }

  func testTrainingModeBatchNormIsRefused() throws {
    var onnx = model(secondReader: false)
    onnx.graph.nodes[1].attributes.append(ONNXAttribute("training_mode", .int(1)))
    XCTAssertThrowsError(try onnx.makeGraph()) {
      XCTAssertEqual(
        $0 as? ONNXProblem,
        .unsupportedNode(node: "bn1", op: "BatchNormalization", reason: "training_mode 1"))
    }
  }
}

extension ONNXConvolutionImportTests {
  /// The input gradient of a whole imported block (depthwise conv with a
  /// folded batch normalisation, ReLU, grouped dilated conv, a batch
  /// normalisation node, global pools) against central differences (a
  /// small step: at 1e-2 ReLU kinks and switching maxima spoil some).
  func testInputGradientOfTheImportedBlock() throws {
    var network = Network(try model(secondReader: true).makeGraph())
    let input = try XCTUnwrap(random("x", [1, 4, 9, 9]).floatTensor)
    let output = try network.forward(input, mode: .inferenceWithGradients)
    let projection = try XCTUnwrap(random("r", output.shape.dims).floatTensor)
    let dInput = try XCTUnwrap(network.backward(projection, inputGradient: true))
    func objective(_ x: Tensor) throws -> Double {
      let y = try network.forward(x, mode: .inference)
      return zip(y.storage, projection.storage).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    for i in stride(from: 0, to: input.count, by: 13) {
      var plus = input, minus = input
      plus.storage[i] += 1e-3
      minus.storage[i] -= 1e-3
      let numeric = (try objective(plus) - objective(minus)) / 2e-3
      let analytic = Double(dInput.storage[i])
      XCTAssertLessThan(
        abs(analytic - numeric) / max(abs(analytic) + abs(numeric), 1e-2), 2e-2,
        "dInput[\(i)]: analytic \(analytic) numeric \(numeric)")
    }
  }
}
