import Engine
import Tensors

extension ONNXModel {
  /// Any engine graph as ONNX (opset `exportOpset`): an imported model
  /// written back, with what the engine holds now (grouped, depthwise and
  /// dilated convolutions, batch normalisation, pooling with its ONNX
  /// options, global pooling, and the element-wise and shape ops of
  /// `ONNXShapeExport`).
  ///
  /// One ONNX node per engine node, named after it, writing the node's
  /// tensor; input (N, ...) with the graph's per-sample shape. Conv kernels
  /// go from HWIO to OIHW, padding becomes explicit `pads`, and a Flatten
  /// of an image is written as Transpose (0, 2, 3, 1) then Flatten, so the
  /// features keep the engine's (H, W, C) order and Dense kernels go out
  /// as they are (Gemm's B). A batch normalisation folded into its
  /// convolution at import stays folded. Throws `.unexportableNode` for an
  /// operation ONNX (at this opset) or this writer has no form for.
  public init(exporting graph: Graph, metadata: [ONNXMetadataEntry] = []) throws(ONNXProblem) {
    var writer = GraphWriter(graph: graph)
    try writer.write()
    func dims(_ shape: Shape) -> [ONNXValueInfo.Dimension] {
      [.named("N")] + shape.dims.map { .fixed($0) }
    }
    let outputShape = writer.shapes[graph.output] ?? Shape([])
    self.init(
      opset: Self.exportOpset, producerName: "convviz", metadata: metadata,
      graph: ONNXGraph(
        name: "convviz", inputs: [ONNXValueInfo(name: graph.input, dims: dims(graph.inputShape))],
        outputs: [ONNXValueInfo(name: graph.output, dims: dims(outputShape))],
        nodes: writer.nodes, initializers: writer.initializers))
  }
}

extension Tensor {
  /// A Keras HWIO convolution kernel (kh, kw, cin, cout) in ONNX's OIHW
  /// layout (cout, cin, kh, kw).
  var oihwFromHWIO: Tensor {
    let (kh, kw, cin, cout) = (shape[0], shape[1], shape[2], shape[3])
    var out = [Float](repeating: 0, count: count)
    for y in 0..<kh {
      for x in 0..<kw {
        for i in 0..<cin {
          for o in 0..<cout {
            out[((o * cin + i) * kh + y) * kw + x] = storage[((y * kw + x) * cin + i) * cout + o]
          }
        }
      }
    }
    return Tensor(shape: Shape(cout, cin, kh, kw), storage: out)
  }
}

/// Writes an engine graph's nodes in order.
private struct GraphWriter {
  let graph: Graph
  var nodes: [ONNXNode] = []
  var initializers: [ONNXTensor] = []
  /// Per-sample shapes by tensor name.
  var shapes: [String: Shape] = [:]

  init(graph: Graph) {
    self.graph = graph
    shapes[graph.input] = graph.inputShape
    for (k, node) in graph.nodes.enumerated() { shapes[node.output] = graph.tensorShapes[k + 1] }
  }

  mutating func constant(_ name: String, _ tensor: Tensor) -> String {
    initializers.append(ONNXTensor(name: name, tensor))
    return name
  }

  mutating func emit(
    _ name: String, _ op: String, _ inputs: [String], _ output: String,
    _ attributes: [ONNXAttribute] = []
  ) {
    nodes.append(
      ONNXNode(name: name, opType: op, inputs: inputs, outputs: [output], attributes: attributes))
  }

  /// ONNX `pads` (top, left, bottom, right) of a window over `input`.
  func pads(
    _ padding: Padding, input: Shape, window: (Int, Int), strides: (Int, Int),
    dilations: (Int, Int)
  ) -> [Int] {
    let rows = padding.amounts(
      along: .vertical, input: input[1], window: window.0, stride: strides.0,
      dilation: dilations.0)
    let columns = padding.amounts(
      along: .horizontal, input: input[2], window: window.1, stride: strides.1,
      dilation: dilations.1)
    return [rows.before, columns.before, rows.after, columns.after]
  }

  mutating func write() throws(ONNXProblem) {
    for node in graph.nodes {
      let (name, x, y) = (node.name, node.inputs.first ?? "", node.output)
      let input = shapes[x] ?? Shape([])
      func refuse(_ reason: String) -> ONNXProblem {
        .unexportableNode(node: name, kind: node.op.kind, reason: reason)
      }
      switch node.op {
      case let conv as Conv2D:
        let k = conv.kernelSize
        let s = (conv.strides.y, conv.strides.x)
        let d = (conv.dilations.y, conv.dilations.x)
        let w = constant(name + "/kernel", conv.kernel.value.oihwFromHWIO)
        let b = constant(name + "/bias", conv.bias.value)
        emit(
          name, "Conv", [x, w, b], y,
          [
            ONNXAttribute("kernel_shape", .ints([k.height, k.width])),
            ONNXAttribute("strides", .ints([s.0, s.1])),
            ONNXAttribute(
              "pads",
              .ints(pads(conv.padding, input: input, window: k, strides: s, dilations: d))),
            ONNXAttribute("dilations", .ints([d.0, d.1])),
            ONNXAttribute("group", .int(conv.groups)),
          ])
      case let norm as BatchNormalization:
        let parts = [
          ("scale", norm.gamma), ("B", norm.beta), ("mean", norm.movingMean),
          ("var", norm.movingVariance),
        ].map { constant(name + "/" + $0.0, $0.1.value) }
        emit(
          name, "BatchNormalization", [x] + parts, y,
          [ONNXAttribute("epsilon", .float(norm.epsilon))])
      case let pool as Pooling2D:
        let w = pool.window
        let s = (w.strideY, w.strideX)
        let d = (w.dilationY, w.dilationX)
        var attributes = [
          ONNXAttribute("kernel_shape", .ints([w.height, w.width])),
          ONNXAttribute("strides", .ints([s.0, s.1])),
          ONNXAttribute(
            "pads",
            .ints(
              pads(w.padding, input: input, window: (w.height, w.width), strides: s, dilations: d)
            )),
          ONNXAttribute("ceil_mode", .int(w.ceilMode ? 1 : 0)),
        ]
        if pool.reduction == .max {
          attributes.append(ONNXAttribute("dilations", .ints([d.0, d.1])))
          emit(name, "MaxPool", [x], y, attributes)
          continue
        }
        guard d == (1, 1) else {
          throw refuse("AveragePool takes dilations only from opset 19")
        }
        attributes.append(ONNXAttribute("count_include_pad", .int(w.countIncludePad ? 1 : 0)))
        if pool.reduction == .average {
          emit(name, "AveragePool", [x], y, attributes)
        } else {
          // L2: sqrt(mean of squares), as the spec export writes it.
          emit(name + "/square", "Mul", [x, x], name + "/square")
          emit(name + "/mean", "AveragePool", [name + "/square"], name + "/mean", attributes)
          emit(name, "Sqrt", [name + "/mean"], y)
        }
      case let pool as GlobalPooling2D:
        emit(name, pool.reduction == .max ? "GlobalMaxPool" : "GlobalAveragePool", [x], y)
      case let activation as Activation:
        switch activation.function {
        case .relu: emit(name, "Relu", [x], y)
        case .sigmoid: emit(name, "Sigmoid", [x], y)
        case .tanh: emit(name, "Tanh", [x], y)
        case .linear: emit(name, "Identity", [x], y)
        case .softmax: emit(name, "Softmax", [x], y, [ONNXAttribute("axis", .int(1))])
        }
      case let dense as Dense:
        let b = constant(name + "/kernel", dense.kernel.value)
        let c = constant(name + "/bias", dense.bias.value)
        emit(name, "Gemm", [x, b, c], y)
      case is Flatten:
        var source = x
        if input.rank == 3, input[0] > 1, input[1] * input[2] > 1 {
          source = name + "/hwc"
          emit(source, "Transpose", [x], source, [ONNXAttribute("perm", .ints([0, 2, 3, 1]))])
        }
        emit(name, "Flatten", [source], y, [ONNXAttribute("axis", .int(1))])
      case let dropout as Dropout:
        let ratio = constant(name + "/ratio", Tensor(shape: Shape([]), storage: [dropout.rate]))
        emit(name, "Dropout", [x, ratio], y)
      case is Add:
        emit(name, "Add", node.inputs, y)
      default:
        // Concat on any axis, the element-wise and shape ops.
        guard
          let form = ONNXShapeExport.form(
            of: node.op, name: name, inputs: node.inputs,
            inputShapes: node.inputs.map { shapes[$0] ?? Shape([]) }, output: y)
        else { throw refuse("no ONNX form is written for it") }
        nodes += form.nodes
        initializers += form.initializers
      }
    }
  }
}
