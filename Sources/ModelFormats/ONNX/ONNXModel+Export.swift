import Tensors

extension ONNXModel {
  /// The operator set `init(exporting:)` writes (onnxruntime 1.8 and later).
  public static let exportOpset = 13

  /// A convviz model file as an ONNX model that onnxruntime and other
  /// runtimes run, computing the same outputs.
  ///
  /// The input `input` is (N, C, H, W), the engine's own layout (the spec's
  /// `input H W C` is height, width, channels). Nodes and tensors carry the
  /// graph builder's names (`conv2d`, `conv2d/linear`, `dense_1`), so a
  /// model reads back with the layer names it had. Weights are permuted
  /// once, on export: Conv kernels from Keras's HWIO to ONNX's OIHW;
  /// Dense kernels (in, units) become Gemm's B as they are, except that
  /// behind a Flatten of an image their rows are reordered from convviz's
  /// (H, W, C) feature order to ONNX Flatten's (C, H, W) order, so no
  /// Transpose is needed (one is written before Flatten only when no Dense
  /// follows). `same` padding becomes explicit pads (TensorFlow's split,
  /// the extra cell at the bottom and right); L2 pooling becomes Mul,
  /// AveragePool and Sqrt; Dropout is written with its rate and acts as
  /// the identity at inference. Metadata: the layout, the class names (one
  /// per line), the spec, the resize mode and the preprocessing
  /// (`Preprocessing.metadataEntries`: values in [0, 1], RGB).
  public init(exporting file: ModelFile) {
    var builder = ExportBuilder(spec: file.spec, parameters: file.parameters)
    builder.build()
    let spec = file.spec
    guard case .image(let h, let w, let c) = spec.input else {
      preconditionFailure("a checked spec has an image input")
    }
    let outputDims: [ONNXValueInfo.Dimension] =
      [.named("N")] + spec.input(outputOf: spec.layers.count).tensorShape.dims.map { .fixed($0) }
    let graph = ONNXGraph(
      name: "convviz",
      inputs: [
        ONNXValueInfo(name: "input", dims: [.named("N"), .fixed(c), .fixed(h), .fixed(w)])
      ],
      outputs: [ONNXValueInfo(name: builder.current, dims: outputDims)],
      nodes: builder.nodes, initializers: builder.initializers)
    var metadata = [
      ONNXMetadataEntry(
        "convviz.input_layout",
        "NCHW: input (N, \(c), \(h), \(w)); the convviz spec's input is \(h) \(w) \(c) "
          + "(height, width, channels)"),
      ONNXMetadataEntry("convviz.spec", spec.canonicalText),
      ONNXMetadataEntry("convviz.resize", "\(file.metadata.resize)"),
    ]
    // What the input values are, for convviz and for whoever serves it.
    metadata += file.preprocessing.metadataEntries.map { ONNXMetadataEntry($0.key, $0.value) }
    if !file.metadata.classNames.isEmpty {
      metadata.append(
        ONNXMetadataEntry("convviz.class_names", file.metadata.classNames.joined(separator: "\n")))
    }
    self.init(
      opset: Self.exportOpset, producerName: "convviz", docString: file.metadata.dataset,
      metadata: metadata, graph: graph)
  }
}

extension ModelSpec {
  /// The per-sample shape entering layer `index` (`layers.count`: the output).
  fileprivate func input(outputOf index: Int) -> FeatureShape {
    index == 0 ? input : outputShapes[index - 1]
  }
}

/// Builds the nodes and initializers of an export in layer order.
private struct ExportBuilder {
  let spec: ModelSpec
  let parameters: [NamedTensor]
  var nodes: [ONNXNode] = []
  var initializers: [ONNXTensor] = []
  /// The tensor the next node reads.
  var current = "input"
  /// Set between a Flatten of an image and the Dense that absorbs the
  /// feature order: the image shape (C, H, W) that was flattened.
  var pendingOrder: (c: Int, h: Int, w: Int)?
  var nextParameter = 0

  init(spec: ModelSpec, parameters: [NamedTensor]) {
    self.spec = spec
    self.parameters = parameters
  }

  mutating func node(
    _ name: String, _ op: String, inputs: [String], output: String,
    _ attributes: [ONNXAttribute] = []
  ) {
    nodes.append(
      ONNXNode(name: name, opType: op, inputs: inputs, outputs: [output], attributes: attributes))
    current = output
  }

  mutating func takeParameter() -> Tensor {
    defer { nextParameter += 1 }
    return parameters[nextParameter].tensor
  }

  mutating func build() {
    let names = spec.layerNames
    for (row, layer) in spec.layers.enumerated() {
      let name = names[row]
      let input = spec.inputShapes[row]
      switch layer {
      case .conv2d(_, _, let strides, let padding, let activation):
        guard case .image(let h, let w, _) = input else { preconditionFailure("checked by spec") }
        let kernel = takeParameter()
        let bias = takeParameter()
        initializers.append(ONNXTensor(name: name + "/kernel", kernel.oihwFromHWIO))
        initializers.append(ONNXTensor(name: name + "/bias", bias))
        let (kh, kw) = (kernel.shape[0], kernel.shape[1])
        let rows = padding.amounts(along: .vertical, input: h, window: kh, stride: strides.height)
        let columns = padding.amounts(
          along: .horizontal, input: w, window: kw, stride: strides.width)
        node(
          name, "Conv", inputs: [current, name + "/kernel", name + "/bias"],
          output: activation == .linear ? name : name + "/linear",
          [
            ONNXAttribute("kernel_shape", .ints([kh, kw])),
            ONNXAttribute("strides", .ints([strides.height, strides.width])),
            ONNXAttribute("pads", .ints([rows.before, columns.before, rows.after, columns.after])),
            ONNXAttribute("dilations", .ints([1, 1])), ONNXAttribute("group", .int(1)),
          ])
        activate(activation, name: name)
      case .dense(_, let activation):
        var kernel = takeParameter()
        let bias = takeParameter()
        if let order = pendingOrder {
          kernel = Self.rowsInCHWOrder(kernel, c: order.c, h: order.h, w: order.w)
          pendingOrder = nil
        }
        initializers.append(ONNXTensor(name: name + "/kernel", kernel))
        initializers.append(ONNXTensor(name: name + "/bias", bias))
        node(
          name, "Gemm", inputs: [current, name + "/kernel", name + "/bias"],
          output: activation == .linear ? name : name + "/linear")
        activate(activation, name: name)
      case .pooling2d(let reduction, let pool, let strides):
        guard case .image(let h, let w, _) = input else { preconditionFailure("checked by spec") }
        // Pooling rows are always `valid` in specs today; the amounts
        // keep the export right should that change.
        let rows = Padding.valid.amounts(
          along: .vertical, input: h, window: pool.height, stride: strides.height)
        let columns = Padding.valid.amounts(
          along: .horizontal, input: w, window: pool.width, stride: strides.width)
        let attributes = [
          ONNXAttribute("kernel_shape", .ints([pool.height, pool.width])),
          ONNXAttribute("strides", .ints([strides.height, strides.width])),
          ONNXAttribute("pads", .ints([rows.before, columns.before, rows.after, columns.after])),
        ]
        switch reduction {
        case .max:
          node(name, "MaxPool", inputs: [current], output: name, attributes)
        case .average:
          node(
            name, "AveragePool", inputs: [current], output: name,
            attributes + [ONNXAttribute("count_include_pad", .int(0))])
        case .l2:
          // sqrt(mean of squares over the window's real cells).
          let source = current
          node(name + "/square", "Mul", inputs: [source, source], output: name + "/square")
          node(
            name + "/mean", "AveragePool", inputs: [current], output: name + "/mean",
            attributes + [ONNXAttribute("count_include_pad", .int(0))])
          node(name, "Sqrt", inputs: [current], output: name)
        }
      case .dropout(let rate):
        initializers.append(
          ONNXTensor(name: name + "/ratio", Tensor(shape: Shape([]), storage: [rate])))
        node(name, "Dropout", inputs: [current, name + "/ratio"], output: name)
      case .flatten:
        if case .image(let h, let w, let c) = input, h * w > 1, c > 1 {
          if denseAbsorbsOrder(after: row) {
            pendingOrder = (c, h, w)
          } else {
            node(
              name + "/hwc", "Transpose", inputs: [current], output: name + "/hwc",
              [ONNXAttribute("perm", .ints([0, 2, 3, 1]))])
          }
        }
        node(name, "Flatten", inputs: [current], output: name, [ONNXAttribute("axis", .int(1))])
      case .activation(let activation):
        if activation == .linear {
          node(name, "Identity", inputs: [current], output: name)
        } else {
          nodes.append(
            ONNXNode(
              name: name, opType: Self.opType(activation), inputs: [current], outputs: [name],
              attributes: activation == .softmax ? [ONNXAttribute("axis", .int(1))] : []))
          current = name
        }
      }
    }
  }

  /// Adds the activation node of a Conv2D or Dense row, which writes the
  /// row's own tensor.
  mutating func activate(_ activation: LayerSpec.Activation, name: String) {
    guard activation != .linear else { return }
    nodes.append(
      ONNXNode(
        name: name + "/" + activation.rawValue, opType: Self.opType(activation),
        inputs: [current], outputs: [name],
        attributes: activation == .softmax ? [ONNXAttribute("axis", .int(1))] : []))
    current = name
  }

  /// Whether the rows after Flatten `row` reach a Dense through element-wise
  /// layers only (which commute with reordering the features).
  func denseAbsorbsOrder(after row: Int) -> Bool {
    for layer in spec.layers[(row + 1)...] {
      switch layer {
      case .dense: return true
      case .dropout, .activation(.relu), .activation(.sigmoid), .activation(.tanh),
        .activation(.linear):
        continue
      default: return false
      }
    }
    return false
  }

  static func opType(_ activation: LayerSpec.Activation) -> String {
    switch activation {
    case .relu: return "Relu"
    case .sigmoid: return "Sigmoid"
    case .tanh: return "Tanh"
    case .softmax: return "Softmax"
    case .linear: return "Identity"
    }
  }

  /// Dense rows in convviz's flatten order, feature (y·W + x)·C + c, moved
  /// to ONNX Flatten's order, feature (c·H + y)·W + x.
  static func rowsInCHWOrder(_ kernel: Tensor, c: Int, h: Int, w: Int) -> Tensor {
    let units = kernel.shape[1]
    var out = [Float](repeating: 0, count: kernel.count)
    for channel in 0..<c {
      for y in 0..<h {
        for x in 0..<w {
          let from = ((y * w + x) * c + channel) * units
          let to = ((channel * h + y) * w + x) * units
          for u in 0..<units { out[to + u] = kernel.storage[from + u] }
        }
      }
    }
    return Tensor(shape: kernel.shape, storage: out)
  }
}
