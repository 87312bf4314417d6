import Engine
import Tensors

/// The per-sample shape of the data flowing between layers, as Keras
/// reports it: images are height × width × channels, features are flat.
public enum FeatureShape: Hashable, Sendable, CustomStringConvertible {
  case image(height: Int, width: Int, channels: Int)
  case flat(Int)

  /// Number of values per sample.
  public var count: Int {
    switch self {
    case .image(let h, let w, let c): return h * w * c
    case .flat(let n): return n
    }
  }

  /// The shape of the engine's per-sample shape `shape`: (C, H, W) is an
  /// image, any other rank flat (all its values).
  public init(_ shape: Shape) {
    self =
      shape.rank == 3
      ? .image(height: shape[1], width: shape[2], channels: shape[0]) : .flat(shape.count)
  }

  /// The engine's per-sample shape: (C, H, W) for images, (F) for features.
  public var tensorShape: Shape {
    switch self {
    case .image(let h, let w, let c): return Shape(c, h, w)
    case .flat(let n): return Shape(n)
    }
  }

  /// Keras's notation with the batch axis, e.g. `(None, 26, 26, 32)`.
  public var description: String {
    switch self {
    case .image(let h, let w, let c): return "(None, \(h), \(w), \(c))"
    case .flat(let n): return "(None, \(n))"
    }
  }
}

/// A height × width pair: kernel sizes, strides and pool sizes.
public struct Size2: Hashable, Sendable, CustomStringConvertible {
  public var height: Int
  public var width: Int

  public init(_ height: Int, _ width: Int) {
    self.height = height
    self.width = width
  }

  public init(square size: Int) { self.init(size, size) }

  /// `3x3`, as written in model specs.
  public var description: String { "\(height)x\(width)" }
}

/// One layer of a model spec, with its Keras hyper-parameters.
///
/// Conv2D and Dense carry their activation as Keras does (one summary row,
/// one name); the graph builder gives it a node of its own. Activations,
/// pooling reductions and padding are the engine's own types, so the spec
/// and the network never translate between two spellings of one idea.
public enum LayerSpec: Hashable, Sendable {
  public typealias Activation = Engine.Activation.Function
  public typealias Pooling = Pooling2D.Reduction
  /// `valid` or `same` in spec text; explicit amounts only from code.
  public typealias Padding = Tensors.Padding

  case conv2d(filters: Int, kernel: Size2, strides: Size2, padding: Padding, activation: Activation)
  case dense(units: Int, activation: Activation)
  case pooling2d(Pooling, pool: Size2, strides: Size2)
  case dropout(rate: Float)
  case flatten
  case activation(Activation)

  /// The Keras base name used for layer naming (`conv2d`, `conv2d_1`, …).
  public var kerasName: String {
    switch self {
    case .conv2d: return "conv2d"
    case .dense: return "dense"
    case .pooling2d(.max, _, _): return "max_pooling2d"
    case .pooling2d(.average, _, _): return "average_pooling2d"
    case .pooling2d(.l2, _, _): return "l2_pooling2d"
    case .dropout: return "dropout"
    case .flatten: return "flatten"
    case .activation: return "activation"
    }
  }

  /// The Keras class name shown in summaries (`Conv2D`, `MaxPooling2D`).
  public var kerasType: String {
    switch self {
    case .conv2d: return "Conv2D"
    case .dense: return "Dense"
    case .pooling2d(.max, _, _): return "MaxPooling2D"
    case .pooling2d(.average, _, _): return "AveragePooling2D"
    case .pooling2d(.l2, _, _): return "L2Pooling2D"
    case .dropout: return "Dropout"
    case .flatten: return "Flatten"
    case .activation: return "Activation"
    }
  }

  /// The spec keyword that starts this layer's line.
  public var keyword: String {
    switch self {
    case .conv2d: return "conv2d"
    case .dense: return "dense"
    case .pooling2d(.max, _, _): return "maxpool2d"
    case .pooling2d(.average, _, _): return "avgpool2d"
    case .pooling2d(.l2, _, _): return "l2pool2d"
    case .dropout: return "dropout"
    case .flatten: return "flatten"
    case .activation: return "activation"
    }
  }

  /// The canonical spec line, every parameter spelled out.
  public var canonicalText: String {
    switch self {
    case .conv2d(let filters, let kernel, let strides, let padding, let activation):
      return "conv2d filters=\(filters) kernel=\(kernel) strides=\(strides) "
        + "padding=\(padding) activation=\(activation.rawValue)"
    case .dense(let units, let activation):
      return "dense units=\(units) activation=\(activation.rawValue)"
    case .pooling2d(_, let pool, let strides):
      return "\(keyword) pool=\(pool) strides=\(strides)"
    case .dropout(let rate):
      return "dropout rate=\(rate)"
    case .flatten:
      return "flatten"
    case .activation(let activation):
      return "activation \(activation.rawValue)"
    }
  }

  /// The trainable tensors this layer owns, by Keras weight name and shape:
  /// conv kernels HWIO (kh, kw, in, out), dense kernels (in, out), biases (out).
  public func parameterShapes(input: FeatureShape) -> [(name: String, shape: Shape)] {
    switch self {
    case .conv2d(let filters, let kernel, _, _, _):
      guard case .image(_, _, let channels) = input else { return [] }
      return [
        ("kernel", Shape(kernel.height, kernel.width, channels, filters)),
        ("bias", Shape(filters)),
      ]
    case .dense(let units, _):
      return [("kernel", Shape(input.count, units)), ("bias", Shape(units))]
    case .pooling2d, .dropout, .flatten, .activation:
      return []
    }
  }

  /// The parameter count with the arithmetic that gives it, e.g.
  /// `3×3×1×32+32 = 320`; nil for layers without parameters.
  public func parameterFormula(input: FeatureShape) -> (count: Int, formula: String)? {
    let shapes = parameterShapes(input: input)
    guard !shapes.isEmpty else { return nil }
    let count = shapes.reduce(0) { $0 + $1.shape.count }
    let terms = shapes.map { $0.shape.dims.map(String.init).joined(separator: "×") }
    return (count, terms.joined(separator: "+") + " = " + groupedDigits(count))
  }
}

/// `933378` → `933,378`, as Keras prints parameter counts.
public func groupedDigits(_ value: Int) -> String {
  let digits = Array(String(value.magnitude))
  var out = ""
  for (i, digit) in digits.enumerated() {
    if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
    out.append(digit)
  }
  return value < 0 ? "-" + out : out
}
