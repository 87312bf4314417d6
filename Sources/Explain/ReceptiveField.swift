import Engine
import Tensors

/// The input pixels that one position of a layer's maps can see, from the
/// kernel sizes, strides, padding and dilations of every op on the paths
/// from the input (Araujo et al. 2019, "Computing Receptive Fields of
/// Convolutional Neural Networks").
///
/// Along each axis, position i of the layer sees input pixels
/// `start + i·jump ..< start + i·jump + size`; `start` is negative where
/// padding reaches outside the image. A window op (kernel k, stride s,
/// padding p before, dilation d) on a layer with (size S, jump J, start O)
/// gives size S + d(k − 1)·J, jump J·s, start O − p·J. Ops that keep the
/// maps' size (activations, dropout, normalisation) keep the field; ops
/// with several inputs (Add, Concatenate) take the union of theirs.
public struct ReceptiveField: Sendable, Equatable {
  public struct Axis: Sendable, Equatable {
    public var size: Int
    public var jump: Int
    public var start: Int

    public init(size: Int, jump: Int, start: Int) {
      self.size = size
      self.jump = jump
      self.start = start
    }

    /// The field of a window op applied to this one.
    func through(kernel k: Int, stride s: Int, padBefore p: Int, dilation d: Int) -> Axis {
      Axis(size: size + d * (k - 1) * jump, jump: jump * s, start: start - p * jump)
    }

    /// The input pixels position `i` sees.
    public func pixels(at i: Int) -> Range<Int> {
      (start + i * jump)..<(start + i * jump + size)
    }
  }

  public var vertical: Axis
  public var horizontal: Axis

  public init(vertical: Axis, horizontal: Axis) {
    self.vertical = vertical
    self.horizontal = horizontal
  }

  /// The field of the input itself: one pixel.
  public static let pixel = ReceptiveField(
    vertical: Axis(size: 1, jump: 1, start: 0), horizontal: Axis(size: 1, jump: 1, start: 0))

  /// The input rows and columns position (y, x) sees.
  public func window(y: Int, x: Int) -> (rows: Range<Int>, columns: Range<Int>) {
    (vertical.pixels(at: y), horizontal.pixels(at: x))
  }

  /// The field of tensor `name` of `graph`, at the graph's input shape.
  public static func of(_ name: String, in graph: Graph) throws(ExplainError) -> ReceptiveField {
    var fields: [String: ReceptiveField] = [graph.input: .pixel]
    // Where a tensor's field could not be followed: the first node on
    // its path that stops it.
    var blocked: [String: (node: String, kind: String)] = [:]
    let shapes = graph.tensorShapes
    var shapeOf: [String: Shape] = [graph.input: shapes[0]]
    for (k, node) in graph.nodes.enumerated() {
      let shape = shapes[k + 1]
      shapeOf[node.output] = shape
      if let upstream = node.inputs.lazy.compactMap({ blocked[$0] }).first {
        blocked[node.output] = upstream
        continue
      }
      let inputs = node.inputs.compactMap { fields[$0] }
      let inputShapes = node.inputs.compactMap { shapeOf[$0] }
      guard shape.rank == 3, inputs.count == node.inputs.count, let first = inputs.first,
        inputShapes.allSatisfy({ $0.rank == 3 })
      else {
        blocked[node.output] = (node.name, node.op.kind)
        continue
      }
      if let window = Self.window(of: node.op, input: inputShapes[0]) {
        let (top, _) = window.padding.amounts(
          along: .vertical, input: inputShapes[0][1], window: window.kernel.0,
          stride: window.strides.0, dilation: window.dilation.0)
        let (left, _) = window.padding.amounts(
          along: .horizontal, input: inputShapes[0][2], window: window.kernel.1,
          stride: window.strides.1, dilation: window.dilation.1)
        fields[node.output] = ReceptiveField(
          vertical: first.vertical.through(
            kernel: window.kernel.0, stride: window.strides.0, padBefore: top,
            dilation: window.dilation.0),
          horizontal: first.horizontal.through(
            kernel: window.kernel.1, stride: window.strides.1, padBefore: left,
            dilation: window.dilation.1))
      } else if inputShapes.allSatisfy({ $0[1] == shape[1] && $0[2] == shape[2] }),
        let union = Self.union(inputs)
      {
        fields[node.output] = union
      } else {
        blocked[node.output] = (node.name, node.op.kind)
      }
    }
    guard let field = fields[name] else {
      let stop = blocked[name] ?? (name, "not a tensor of the graph")
      throw .unknownReceptiveField(node: stop.node, kind: stop.kind)
    }
    return field
  }

  /// The sliding window of a convolution or pooling op on an input of
  /// shape (C, H, W); global pooling is one window over the whole map.
  /// nil for other ops.
  static func window(
    of op: any Operation, input: Shape
  ) -> (kernel: (Int, Int), strides: (Int, Int), padding: Padding, dilation: (Int, Int))? {
    if let conv = op as? Conv2D {
      return (
        (conv.kernelSize.height, conv.kernelSize.width), (conv.strides.y, conv.strides.x),
        conv.padding, (conv.dilations.y, conv.dilations.x)
      )
    }
    if let pool = op as? Pooling2D {
      return (
        (pool.poolSize.height, pool.poolSize.width), (pool.strides.y, pool.strides.x),
        pool.padding, (pool.window.dilationY, pool.window.dilationX)
      )
    }
    if op is GlobalPooling2D {
      return ((input[1], input[2]), (1, 1), .valid, (1, 1))
    }
    return nil
  }

  /// The smallest field containing every one of `fields`, which must move
  /// by the same jump (inputs of the same size on the same grid); nil
  /// otherwise.
  static func union(_ fields: [ReceptiveField]) -> ReceptiveField? {
    guard let first = fields.first else { return nil }
    func join(_ axes: [Axis]) -> Axis? {
      guard axes.allSatisfy({ $0.jump == axes[0].jump }) else { return nil }
      let start = axes.map(\.start).min() ?? 0
      let end = axes.map { $0.start + $0.size }.max() ?? 0
      return Axis(size: end - start, jump: axes[0].jump, start: start)
    }
    guard fields.count > 1 else { return first }
    guard let v = join(fields.map(\.vertical)), let h = join(fields.map(\.horizontal)) else {
      return nil
    }
    return ReceptiveField(vertical: v, horizontal: h)
  }
}
