import Tensors

/// Shape, min, max, mean and standard deviation of one tensor, for text
/// summaries of a model's weights.
public struct TensorStatistics: Equatable, Sendable {
  public let name: String
  public let shape: Shape
  public let min: Float
  public let max: Float
  public let mean: Double
  /// Population standard deviation (divides by N, like numpy's default).
  public let standardDeviation: Double

  public init(name: String, tensor: Tensor) {
    self.name = name
    shape = tensor.shape
    let values = tensor.storage
    precondition(!values.isEmpty, "statistics of an empty tensor")
    var lo = Float.infinity
    var hi = -Float.infinity
    var sum = 0.0
    for v in values {
      lo = Swift.min(lo, v)
      hi = Swift.max(hi, v)
      sum += Double(v)
    }
    let mean = sum / Double(values.count)
    var squares = 0.0
    for v in values { squares += (Double(v) - mean) * (Double(v) - mean) }
    min = lo
    max = hi
    self.mean = mean
    standardDeviation = (squares / Double(values.count)).squareRoot()
  }

  /// A fixed-width table, one line per tensor, with a header line.
  public static func table(_ rows: [TensorStatistics]) -> String {
    let nameWidth = Swift.max(6, rows.map(\.name.count).max() ?? 0)
    let shapeWidth = Swift.max(5, rows.map(\.shape.description.count).max() ?? 0)
    func pad(_ s: String, _ n: Int) -> String {
      s + String(repeating: " ", count: Swift.max(0, n - s.count))
    }
    func num(_ v: Double) -> String {
      let text = NumberText.fixed(v, 5)
      return String(repeating: " ", count: Swift.max(0, 10 - text.count)) + text
    }
    var lines = [
      pad("tensor", nameWidth) + "  " + pad("shape", shapeWidth)
        + "         min        max       mean        std"
    ]
    for r in rows {
      lines.append(
        pad(r.name, nameWidth) + "  " + pad(r.shape.description, shapeWidth) + "  "
          + [Double(r.min), Double(r.max), r.mean, r.standardDeviation].map(num).joined(
            separator: " "))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
