import Engine
import Tensors

/// A sequential architecture: an input shape and typed layers, with every
/// shape checked. Parse it from the text format in docs/model-spec.md,
/// take a preset, or build it in code; print it back with `canonicalText`.
///
/// A `ModelSpec` is always consistent: each layer accepts the shape before
/// it, and every count fits in memory arithmetic.
public struct ModelSpec: Hashable, Sendable {
  /// The per-sample input (height, width, channels).
  public let input: FeatureShape
  public let layers: [LayerSpec]
  /// The per-sample output shape of each layer, parallel to `layers`.
  public let outputShapes: [FeatureShape]

  /// Largest number of values in one sample anywhere in the network and
  /// largest parameter count; specs beyond them are refused, not allocated.
  /// 2²⁹ parameters (2 GiB of weights; VGG16 has 138 million) keeps a
  /// checkpoint with two optimizer slots (6 GiB) inside
  /// `ModelFile.maximumFileSize`, so a model that trains can be saved and
  /// read back. What fits in memory is the commands' memory budget's call.
  public static let maximumFeatureCount = 1 << 28
  public static let maximumParameterCount = 1 << 29

  /// Checks and creates a spec. Errors name the layer's line as if the
  /// spec were text with `input` on line 1.
  public init(input: FeatureShape, layers: [LayerSpec]) throws(ModelSpecError) {
    try self.init(input: input, layers: layers, lines: layers.indices.map { $0 + 2 })
  }

  /// `flatInput` also accepts flat features as the input: a classifier
  /// head (`ModelSpec.head(parsing:input:)`), never a model of its own.
  init(
    input: FeatureShape, layers: [LayerSpec], lines: [Int], flatInput: Bool = false
  ) throws(ModelSpecError) {
    precondition(lines.count == layers.count)
    let dims: [Int]
    switch input {
    case .image(let h, let w, let c): dims = [h, w, c]
    case .flat(let n): dims = flatInput ? [n] : [0]
    }
    guard dims.allSatisfy({ $0 > 0 }), let count = checkedProduct(dims),
      count <= Self.maximumFeatureCount
    else {
      throw .invalidInput(
        line: 1,
        reason: "input must be height width channels, each at least 1, "
          + "at most \(Self.maximumFeatureCount) values in all")
    }
    var shapes: [FeatureShape] = []
    var current = input
    var parameters = 0
    for (layer, line) in zip(layers, lines) {
      let next = try Self.outputShape(of: layer, input: current, line: line)
      guard next.count <= Self.maximumFeatureCount else {
        throw .tooLarge(line: line, reason: "output has \(next.count) values per sample")
      }
      for (_, shape) in layer.parameterShapes(input: current) {
        guard let n = checkedProduct(shape.dims) else {
          throw .tooLarge(line: line, reason: "parameter count overflows")
        }
        parameters += n
        guard parameters <= Self.maximumParameterCount else {
          throw .tooLarge(line: line, reason: "more than \(Self.maximumParameterCount) parameters")
        }
      }
      shapes.append(next)
      current = next
    }
    self.input = input
    self.layers = layers
    self.outputShapes = shapes
  }

  /// The shape a layer produces from `input`, or why it cannot take it.
  /// Conv and pooling sizes are `Padding`'s (Keras: valid gives
  /// (in − k) / s + 1 rounded down, same gives ceil(in / s)).
  static func outputShape(
    of layer: LayerSpec, input: FeatureShape, line: Int
  ) throws(ModelSpecError) -> FeatureShape {
    func incompatible(_ reason: String) -> ModelSpecError {
      .incompatibleShape(line: line, layer: layer.keyword, input: input, reason: reason)
    }
    switch layer {
    case .conv2d(_, _, _, _, .softmax), .activation(.softmax):
      if case .conv2d = layer { throw incompatible("softmax needs flat features; use it on dense") }
      guard case .flat = input else {
        throw incompatible("softmax needs flat features; add `flatten` before it")
      }
      return input
    default:
      break
    }
    switch layer {
    case .conv2d(let filters, let kernel, let strides, let padding, _):
      guard case .image(let h, let w, _) = input else {
        throw incompatible("needs an image input; conv2d cannot follow flatten or dense")
      }
      guard
        let rows = padding.window(
          along: .vertical, input: h, window: kernel.height, stride: strides.height),
        let columns = padding.window(
          along: .horizontal, input: w, window: kernel.width, stride: strides.width)
      else {
        throw incompatible("kernel \(kernel) is larger than the \(h)x\(w) input")
      }
      return .image(height: rows.output, width: columns.output, channels: filters)
    case .pooling2d(_, let pool, let strides):
      guard case .image(let h, let w, let c) = input else {
        throw incompatible("needs an image input; pooling cannot follow flatten or dense")
      }
      guard
        let rows = Padding.valid.window(
          along: .vertical, input: h, window: pool.height, stride: strides.height),
        let columns = Padding.valid.window(
          along: .horizontal, input: w, window: pool.width, stride: strides.width)
      else {
        throw incompatible("pool \(pool) is larger than the \(h)x\(w) input")
      }
      return .image(height: rows.output, width: columns.output, channels: c)
    case .dense(let units, _):
      guard case .flat = input else {
        throw incompatible("needs a flat input; add `flatten` before it")
      }
      return .flat(units)
    case .flatten:
      return .flat(input.count)
    case .dropout, .activation:
      return input
    }
  }

  /// The final per-sample output shape.
  public var outputShape: FeatureShape { outputShapes.last ?? input }

  /// The number of classes: the size of a flat output.
  public var classCount: Int? {
    if case .flat(let n) = outputShape { return n }
    return nil
  }

  /// The input shape of each layer, parallel to `layers`.
  public var inputShapes: [FeatureShape] { [input] + outputShapes.dropLast() }

  /// Keras layer names: `conv2d`, `conv2d_1`, `max_pooling2d`, `dense_1`, ….
  public var layerNames: [String] {
    var seen: [String: Int] = [:]
    return layers.map { layer in
      let base = layer.kerasName
      let n = seen[base, default: 0]
      seen[base] = n + 1
      return n == 0 ? base : "\(base)_\(n)"
    }
  }

  /// Every trainable tensor in visiting order, named `layer/weight` like
  /// Keras (`conv2d/kernel`, `conv2d/bias`, `dense/kernel`, …).
  public var parameterShapes: [(name: String, shape: Shape)] {
    var result: [(name: String, shape: Shape)] = []
    for (i, (layer, name)) in zip(layers, layerNames).enumerated() {
      for (weight, shape) in layer.parameterShapes(input: inputShapes[i]) {
        result.append((name + "/" + weight, shape))
      }
    }
    return result
  }

  /// Total number of trainable values.
  public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.count } }

  /// The spec as text, one fully spelled-out layer per line; parsing it
  /// gives back an equal spec. This is what model files store.
  public var canonicalText: String {
    guard case .image(let h, let w, let c) = input else { return "" }
    let lines = ["input \(h) \(w) \(c)"] + layers.map(\.canonicalText)
    return lines.joined(separator: "\n") + "\n"
  }
}

/// The product of `factors`, or nil when it overflows `Int`.
func checkedProduct(_ factors: [Int]) -> Int? {
  var result = 1
  for factor in factors {
    let (product, overflow) = result.multipliedReportingOverflow(by: factor)
    if overflow { return nil }
    result = product
  }
  return result
}
