import Engine
import Tensors

/// A summary of any engine graph (an imported model has no spec): one row
/// per node with its operation, per-sample output shape (NCHW, as the
/// engine computes), parameter count, and the tensors it reads when that
/// is not simply the row above (branches and joins).
public struct GraphSummary: Sendable {
  public struct Row: Sendable, Equatable {
    public var name: String
    public var kind: String
    /// What sets the operation apart from its kind's plain form, e.g.
    /// "depthwise, dilation 2" or "ceil mode"; empty for the plain form.
    public var detail: String = ""
    /// Per-sample, e.g. (4, 14, 14).
    public var outputShape: Shape
    public var parameterCount: Int
    /// The tensors the node reads; empty when it reads the row above.
    public var reads: [String]
  }

  public var input: String
  public var inputShape: Shape
  public var rows: [Row]
  public var totalCount: Int { rows.reduce(0) { $0 + $1.parameterCount } }

  public init(_ network: Network) {
    let graph = network.graph
    let shapes = network.layerOutputShapes()
    var counts: [Int] = []
    for node in graph.nodes {
      var op = node.op
      var count = 0
      op.forEachParameter { count += $0.value.count }
      counts.append(count)
    }
    input = graph.input
    inputShape = graph.inputShape
    var previous = graph.input
    rows = graph.nodes.indices.map { k in
      let node = graph.nodes[k]
      defer { previous = node.output }
      return Row(
        name: node.name, kind: node.op.kind, detail: Self.detail(of: node.op),
        outputShape: shapes[k], parameterCount: counts[k],
        reads: node.inputs == [previous] ? [] : node.inputs)
    }
  }

  /// The options of convolutions and pools that Keras's kinds do not name:
  /// groups (depthwise when each group is one input channel), dilations, a
  /// folded batch normalisation, ceil mode, padded cells counted.
  static func detail(of op: any Operation) -> String {
    var parts: [String] = []
    if let conv = op as? Conv2D {
      if conv.groups > 1 {
        parts.append(
          conv.groups == conv.inputChannels ? "depthwise" : "\(conv.groups) groups")
      }
      if conv.dilations != (1, 1) {
        let (y, x) = conv.dilations
        parts.append(y == x ? "dilation \(y)" : "dilation \(y)x\(x)")
      }
      if conv.foldedBatchNormalization { parts.append("BatchNormalization folded in") }
    } else if let pool = op as? Pooling2D {
      let w = pool.window
      if w.dilationY != 1 || w.dilationX != 1 {
        parts.append(
          w.dilationY == w.dilationX
            ? "dilation \(w.dilationY)" : "dilation \(w.dilationY)x\(w.dilationX)")
      }
      if w.ceilMode { parts.append("ceil mode") }
      if w.countIncludePad { parts.append("padding counted") }
    }
    return parts.joined(separator: ", ")
  }

  /// The table as text:
  ///
  ///      #  Node (operation)      Output shape        Param #  Reads
  ///      0  conv2d (Conv2D)       (None, 4, 14, 14)        40
  public func render(title: String) -> String {
    func shape(_ shape: Shape) -> String {
      "(None" + shape.dims.map { ", \($0)" }.joined() + ")"
    }
    let header = ["#", "Node (operation)", "Output shape", "Param #", "Reads"]
    let cells = rows.enumerated().map { k, row in
      [
        String(k),
        "\(row.name) (\(row.kind)" + (row.detail.isEmpty ? ")" : ", \(row.detail))"),
        shape(row.outputShape),
        groupedDigits(row.parameterCount), row.reads.joined(separator: ", "),
      ]
    }
    var widths = header.map(\.count)
    for line in cells {
      for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) }
    }
    func format(_ line: [String]) -> String {
      let text = [
        String(repeating: " ", count: widths[0] - line[0].count) + line[0],
        line[1] + String(repeating: " ", count: widths[1] - line[1].count),
        line[2] + String(repeating: " ", count: widths[2] - line[2].count),
        String(repeating: " ", count: widths[3] - line[3].count) + line[3], line[4],
      ].joined(separator: "  ")
      return String(text.reversed().drop(while: { $0 == " " }).reversed())
    }
    let rule = String(repeating: "─", count: widths.reduce(8, +))
    var out = [
      "Model: \"\(title)\"", "Input: \(input) \(shape(inputShape))", rule, format(header), rule,
    ]
    out += cells.map(format)
    out += [rule, "Total params: \(groupedDigits(totalCount))"]
    return out.joined(separator: "\n") + "\n"
  }
}
