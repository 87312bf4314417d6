import Engine
import Tensors

/// The Keras layers with weights: Conv2D, DepthwiseConv2D,
/// SeparableConv2D, Dense and BatchNormalization.
extension KerasGraphBuilder {
  func refusal(_ layer: KerasArchitecture.Layer, _ reason: String) -> KerasProblem {
    .unsupportedSetting(layer: layer.name, className: layer.className, reason: reason)
  }

  /// The one image (C, H, W) a layer reads.
  func imageInput(_ layer: KerasArchitecture.Layer) throws(KerasProblem) -> Shape {
    guard layer.inputs.count == 1, let shape = shapes[layer.inputs[0]], shape.rank == 3 else {
      throw refusal(layer, "input is not one image (H, W, C)")
    }
    return shape
  }

  /// Strides, padding and dilation of a convolution.
  func window(
    _ layer: KerasArchitecture.Layer
  ) throws(KerasProblem) -> (size: (Int, Int), strides: (Int, Int), dilations: (Int, Int)) {
    guard let size = try pair(layer, "kernel_size", default: nil) else {
      throw refusal(layer, "no kernel_size")
    }
    let strides = try pair(layer, "strides", default: 1) ?? (1, 1)
    let dilations = try pair(layer, "dilation_rate", default: 1) ?? (1, 1)
    return (size, strides, dilations)
  }

  /// A convolution's activation, refusing softmax (over an image's
  /// channels; the engine's softmax activation takes whole samples).
  func imageActivation(
    _ layer: KerasArchitecture.Layer
  ) throws(KerasProblem) -> (name: String, op: any Operation)? {
    let function = try activation(layer)
    if function?.name == "softmax" { throw refusal(layer, "activation softmax on images") }
    return function
  }

  mutating func conv2D(_ layer: KerasArchitecture.Layer, key: String) throws(KerasProblem) {
    guard let filters = layer.config["filters"]?.number, filters >= 1, filters <= Double(1 << 20)
    else {
      throw refusal(layer, "filters missing or out of range")
    }
    let (size, strides, dilations) = try window(layer)
    let shape = try imageInput(layer)
    let value = layer.config["groups"] ?? .number(1)
    let groups = value.number ?? 0
    // Compared as a Double first: a huge number would not fit an Int.
    guard groups >= 1, groups == groups.rounded(), groups <= Double(shape[0]),
      shape[0] % Int(groups) == 0, Int(filters) % Int(groups) == 0
    else {
      throw refusal(layer, "groups \(value) for \(shape[0]) channels and \(Int(filters)) filters")
    }
    let stored = try storedWeights(
      layer, key: key,
      shapes: [("kernel", [size.0, size.1, shape[0] / Int(groups), Int(filters)])],
      bias: Int(filters))
    try add(
      layer,
      Conv2D(
        kernel: stored[0], bias: stored[1], strides: strides, padding: try padding(layer),
        groups: Int(groups), dilations: dilations),
      activation: try imageActivation(layer))
  }

  /// DepthwiseConv2D (a convolution per input channel, `depth_multiplier`
  /// filters each) and SeparableConv2D (that, then a 1 × 1 convolution to
  /// `filters` channels, as two nodes). Keras's depthwise kernel
  /// (kh, kw, C, M) puts output channel c · M + m where the engine's
  /// grouped kernel (kh, kw, 1, C · M) does, so it is used as stored.
  mutating func separable(_ layer: KerasArchitecture.Layer, key: String) throws(KerasProblem) {
    let (size, strides, dilations) = try window(layer)
    let shape = try imageInput(layer)
    let multiplier = layer.config["depth_multiplier"]?.number ?? 1
    guard multiplier >= 1, multiplier <= Double(1 << 12), multiplier == multiplier.rounded()
    else {
      throw refusal(layer, "depth_multiplier \(multiplier)")
    }
    let channels = shape[0]
    let depthwiseShape = [size.0, size.1, channels, Int(multiplier)]
    let middle = channels * Int(multiplier)
    let padding = try padding(layer)
    func depthwise(_ kernel: Tensor, bias: Tensor) -> Conv2D {
      Conv2D(
        kernel: kernel.reshaped(Shape(size.0, size.1, 1, middle)), bias: bias, strides: strides,
        padding: padding, groups: channels, dilations: dilations)
    }
    let function = try imageActivation(layer)
    if layer.className == "DepthwiseConv2D" {
      let stored = try storedWeights(
        layer, key: key, shapes: [("depthwise_kernel", depthwiseShape)], bias: middle)
      try add(layer, depthwise(stored[0], bias: stored[1]), activation: function)
      return
    }
    guard let filters = layer.config["filters"]?.number, filters >= 1, filters <= Double(1 << 20)
    else {
      throw refusal(layer, "filters missing or out of range")
    }
    let stored = try storedWeights(
      layer, key: key,
      shapes: [
        ("depthwise_kernel", depthwiseShape), ("pointwise_kernel", [1, 1, middle, Int(filters)]),
      ],
      bias: Int(filters))
    let pointwise = Conv2D(kernel: stored[1], bias: stored[2])
    try add(
      layer,
      [
        ("depthwise", depthwise(stored[0], bias: Tensor(zeros: Shape(middle)))),
        ("linear", pointwise),
      ] + (function.map { [$0] } ?? []))
  }

  mutating func dense(_ layer: KerasArchitecture.Layer, key: String) throws(KerasProblem) {
    guard let units = layer.config["units"]?.number, units >= 1, units <= Double(1 << 24) else {
      throw refusal(layer, "units missing or out of range")
    }
    guard layer.inputs.count == 1, let shape = shapes[layer.inputs[0]], shape.rank == 1 else {
      throw refusal(layer, "input is not flat features (convviz applies Dense after Flatten)")
    }
    let stored = try storedWeights(
      layer, key: key, shapes: [("kernel", [shape[0], Int(units)])], bias: Int(units))
    try add(layer, Dense(kernel: stored[0], bias: stored[1]), activation: try activation(layer))
  }

  /// BatchNormalization at inference, over the channels (the last Keras
  /// axis) of an image or of flat features. Keras stores gamma (unless
  /// `scale` is false), beta (unless `center` is false), the moving mean
  /// and the moving variance; the missing ones are 1 and 0.
  mutating func batchNormalization(
    _ layer: KerasArchitecture.Layer, key: String
  ) throws(KerasProblem) {
    guard layer.inputs.count == 1, let shape = shapes[layer.inputs[0]],
      shape.rank == 3 || shape.rank == 1
    else {
      throw refusal(layer, "input is neither an image (H, W, C) nor flat features")
    }
    var axis = layer.config["axis"] ?? .number(-1)
    if case .array(let items) = axis, items.count == 1 { axis = items[0] }
    guard axis == .number(-1) || axis == .number(Double(shape.rank)) else {
      throw refusal(layer, "axis \(axis) (convviz normalises the channels, axis -1)")
    }
    let epsilon = layer.config["epsilon"]?.number ?? 1e-3
    guard epsilon >= 0, epsilon.isFinite else { throw refusal(layer, "epsilon \(epsilon)") }
    let scale = layer.config["scale"]?.bool ?? true
    let center = layer.config["center"]?.bool ?? true
    let channels = shape[0]
    var names: [String] = []
    if scale { names.append("gamma") }
    if center { names.append("beta") }
    names += ["moving_mean", "moving_variance"]
    let stored = try storedWeights(
      layer, key: key, shapes: names.map { ($0, [channels]) }, bias: nil)
    var tensors: [String: Tensor] = [:]
    for (name, tensor) in zip(names, stored) { tensors[name] = tensor }
    try add(
      layer,
      BatchNormalization(
        gamma: tensors["gamma"] ?? Tensor(shape: Shape(channels), repeating: 1),
        beta: tensors["beta"] ?? Tensor(zeros: Shape(channels)),
        mean: stored[stored.count - 2], variance: stored[stored.count - 1],
        epsilon: Float(epsilon)))
  }

  /// A layer's stored weights, checked against the shapes the layer needs,
  /// in order, then its bias (`bias` values; zeros with `use_bias:
  /// false`, none when `bias` is nil).
  func storedWeights(
    _ layer: KerasArchitecture.Layer, key: String, shapes expected: [(String, [Int])],
    bias: Int?
  ) throws(KerasProblem) -> [Tensor] {
    let useBias = bias != nil && (layer.config["use_bias"]?.bool ?? true)
    let count = expected.count + (useBias ? 1 : 0)
    guard let stored = weights.tensors(name: layer.name, key: key), !stored.isEmpty else {
      throw .missingWeight(layer: layer.name, weight: expected[0].0)
    }
    guard stored.count >= count else {
      let missing = stored.count < expected.count ? expected[stored.count].0 : "bias"
      throw .missingWeight(layer: layer.name, weight: missing)
    }
    guard stored.count == count else {
      let names = expected.map(\.0) + (useBias ? ["bias"] : [])
      throw refusal(
        layer, "\(stored.count) stored weights, expected " + names.joined(separator: ", "))
    }
    var all = expected
    if useBias, let bias { all.append(("bias", [bias])) }
    for ((name, dims), tensor) in zip(all, stored) where tensor.shape.dims != dims {
      throw .weightShape(layer: layer.name, weight: name, expected: dims, found: tensor.shape.dims)
    }
    if !useBias, let bias { return stored + [Tensor(zeros: Shape(bias))] }
    return stored
  }
}
