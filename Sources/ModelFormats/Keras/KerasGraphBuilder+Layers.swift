import Engine
import Tensors

/// The Keras layers without weights that see the tensor layout (global
/// pooling, ZeroPadding2D, Reshape, Permute), Multiply and the rectifier
/// layers. Keras images are (H, W, C) and the engine's are (C, H, W);
/// tensors of any other rank are laid out alike in both.
extension KerasGraphBuilder {
  /// Keras image axis (H 0, W 1, C 2) → the engine's axis.
  static let engineAxis = [1, 2, 0]

  /// GlobalAveragePooling2D and GlobalMaxPooling2D: (C) per sample, or
  /// (1, 1, C) with `keepdims`.
  mutating func globalPooling(_ layer: KerasArchitecture.Layer) throws(KerasProblem) {
    let shape = try imageInput(layer)
    let op = GlobalPooling2D(layer.className == "GlobalMaxPooling2D" ? .max : .average)
    if layer.config["keepdims"]?.bool ?? false {
      try add(layer, op)
    } else {
      try add(layer, [("pool", op), ("flatten", Reshape(to: Shape(shape[0]), kind: "Flatten"))])
    }
  }

  /// ZeroPadding2D: `padding` as one number, (rows, columns) or
  /// ((top, bottom), (left, right)).
  mutating func zeroPadding(_ layer: KerasArchitecture.Layer) throws(KerasProblem) {
    _ = try imageInput(layer)
    let value = layer.config["padding"] ?? .number(1)
    var amounts: [Double] = []
    switch value {
    case .number(let n): amounts = [n, n, n, n]
    case .array(let items) where items.count == 2:
      for item in items {
        switch item {
        case .number(let n): amounts += [n, n]
        case .array(let pair) where pair.count == 2: amounts += pair.compactMap(\.number)
        default: break
        }
      }
    default: break
    }
    guard amounts.count == 4,
      amounts.allSatisfy({ $0 >= 0 && $0 <= Double(Self.maximumWindow) && $0 == $0.rounded() })
    else {
      throw refusal(layer, "padding \(value)")
    }
    let (top, bottom, left, right) = (
      Int(amounts[0]), Int(amounts[1]), Int(amounts[2]), Int(amounts[3])
    )
    try add(layer, Pad(before: [0, top, left], after: [0, bottom, right]))
  }

  /// Reshape to `target_shape` (Keras order, one dimension may be -1): an
  /// image is first moved to Keras's (H, W, C) order, and an image made is
  /// moved back to (C, H, W).
  mutating func reshape(_ layer: KerasArchitecture.Layer) throws(KerasProblem) {
    guard layer.inputs.count == 1, let shape = shapes[layer.inputs[0]] else {
      throw refusal(layer, "not one input")
    }
    let value = layer.config["target_shape"] ?? .null
    guard case .array(let items) = value else { throw refusal(layer, "target_shape \(value)") }
    var dims = items.compactMap { $0.number.map(Int.init(exactly:)) ?? nil }
    let open = dims.filter { $0 == -1 }.count
    let known = dims.filter { $0 != -1 }
    guard dims.count == items.count, !dims.isEmpty, open <= 1,
      known.allSatisfy({ $0 >= 1 }), let product = checkedProduct(known), product >= 1,
      open == 0 ? product == shape.count : shape.count % product == 0
    else {
      throw refusal(layer, "target_shape \(value) for \(shape.count) values")
    }
    if let k = dims.firstIndex(of: -1) { dims[k] = shape.count / product }
    var steps: [(name: String, op: any Operation)] = []
    if shape.rank == 3 { steps.append(("channels_last", Transpose(permutation: [1, 2, 0]))) }
    steps.append(("reshape", Reshape(to: Shape(dims))))
    if dims.count == 3 { steps.append(("channels_first", Transpose(permutation: [2, 0, 1]))) }
    try add(layer, steps)
  }

  /// Permute `dims` (1-based Keras axes, the batch axis left out).
  mutating func permute(_ layer: KerasArchitecture.Layer) throws(KerasProblem) {
    guard layer.inputs.count == 1, let shape = shapes[layer.inputs[0]] else {
      throw refusal(layer, "not one input")
    }
    let value = layer.config["dims"] ?? .null
    guard case .array(let items) = value,
      let axes = Optional(items.compactMap { $0.number.map(Int.init(exactly:)) ?? nil }),
      axes.count == items.count, axes.map({ $0 - 1 }).sorted() == Array(0..<shape.rank)
    else {
      throw refusal(layer, "dims \(value) for rank-\(shape.rank + 1) tensors")
    }
    let keras = axes.map { $0 - 1 }
    if shape.rank == 3 {
      // Engine output axis (C', H', W') is Keras output axis (2, 0, 1),
      // which reads Keras input axis keras[…], found in the engine at
      // engineAxis[…].
      let map = Self.engineAxis
      try add(
        layer, Transpose(permutation: [map[keras[2]], map[keras[0]], map[keras[1]]]))
    } else {
      try add(layer, Transpose(permutation: keras))
    }
  }

  /// Multiply: the product of two or more tensors of one rank, broadcast
  /// axis by axis as Keras does ((H, W, C) by (1, 1, C)), two at a time.
  mutating func multiply(_ layer: KerasArchitecture.Layer) throws(KerasProblem) {
    guard layer.inputs.count >= 2 else { throw refusal(layer, "fewer than two inputs") }
    let ranks = Set(layer.inputs.compactMap { shapes[$0]?.rank })
    guard ranks.count == 1 else { throw refusal(layer, "inputs of different ranks") }
    var left = layer.inputs[0]
    for k in 1..<layer.inputs.count {
      let last = k == layer.inputs.count - 1
      let name = k == 1 ? layer.name : "\(layer.name)/\(k)"
      let output = last ? layer.name : "\(layer.name)/\(k)"
      let inputs = [left, layer.inputs[k]]
      let op = Arithmetic(.multiply)
      do {
        shapes[output] = try op.outputShape(for: inputs.map { shapes[$0] ?? Shape([]) })
      } catch {
        throw refusal(layer, "\(error)")
      }
      nodes.append(Graph.Node(name, op, inputs: inputs, output: output))
      left = output
    }
  }

  /// ReLU (`max_value`, `negative_slope`; `threshold` 0 only) and
  /// LeakyReLU (`negative_slope`, Keras 2's `alpha`; 0.3 by default).
  func rectifier(_ layer: KerasArchitecture.Layer) throws(KerasProblem) -> any Operation {
    if layer.className == "LeakyReLU" {
      let slope = layer.config["negative_slope"]?.number ?? layer.config["alpha"]?.number ?? 0.3
      guard slope.isFinite else { throw refusal(layer, "negative_slope \(slope)") }
      return ParametricActivation(.leakyRelu(alpha: Float(slope)))
    }
    if let threshold = layer.config["threshold"]?.number, threshold != 0 {
      throw refusal(layer, "threshold \(threshold)")
    }
    let slope = layer.config["negative_slope"]?.number ?? 0
    let maximum = layer.config["max_value"]?.number
    guard slope.isFinite, maximum.map({ $0.isFinite && $0 >= 0 }) ?? true else {
      throw refusal(layer, "negative_slope \(slope), max_value \(maximum ?? 0)")
    }
    switch (slope, maximum) {
    case (0, nil): return Activation(.relu)
    case (0, let high?): return ParametricActivation(.clip(low: 0, high: Float(high)))
    case (_, nil): return ParametricActivation(.leakyRelu(alpha: Float(slope)))
    case (_, let high?):
      throw refusal(layer, "negative_slope \(slope) with max_value \(high)")
    }
  }
}
