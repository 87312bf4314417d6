import ImageCodecs

/// A confusion matrix as a heat map: rows are true classes, columns are
/// predicted classes, each cell shows its count over a blue shade that grows
/// with the count's share of its row (so rare classes are as readable as
/// common ones). The diagonal holds the correct predictions.
public struct ConfusionMatrixPlot: Sendable {
  /// counts[t][p]: samples of true class t predicted as p. Square.
  public var counts: [[Int]]
  public var classNames: [String]
  public var title: String = "Confusion matrix"
  /// Cell side in pixels; nil fits the widest count.
  public var cellSize: Int?

  public init(counts: [[Int]], classNames: [String]) {
    precondition(
      !counts.isEmpty && counts.allSatisfy { $0.count == counts.count },
      "confusion matrix must be square")
    precondition(
      classNames.count == counts.count, "\(classNames.count) names for \(counts.count) classes")
    self.counts = counts
    self.classNames = classNames
  }

  /// Builds the matrix from parallel label arrays.
  public init(trueLabels: [Int], predicted: [Int], classNames: [String]) {
    precondition(trueLabels.count == predicted.count, "label arrays differ in length")
    var counts = Array(
      repeating: Array(repeating: 0, count: classNames.count), count: classNames.count)
    for (t, p) in zip(trueLabels, predicted) { counts[t][p] += 1 }
    self.init(counts: counts, classNames: classNames)
  }

  static let ink = RGB(30, 30, 30)
  /// Zero counts are drawn faint so that the errors stand out.
  static let faint = RGB(180, 180, 180)
  static let low = RGB(247, 251, 255)
  static let high = RGB(8, 48, 107)

  /// The cell colour for a row share 0…1 (ColorBrewer Blues end points).
  public static func shade(_ share: Float) -> RGB { low.mixed(with: high, amount: share) }

  public struct Geometry: Equatable, Sendable {
    public let left: Int, top: Int, cell: Int, width: Int, height: Int
  }

  public func geometry() -> Geometry {
    let n = counts.count
    let widestCount = counts.joined().map { BitmapFont.width(of: "\($0)") }.max() ?? 0
    let cell = cellSize ?? max(26, widestCount + 8)
    let nameWidth = classNames.map { BitmapFont.width(of: $0) }.max() ?? 0
    let left = 12 + BitmapFont.lineHeight + 6 + nameWidth + 6
    let top = 12 + 2 * BitmapFont.lineHeight + 8 + BitmapFont.lineHeight + 6
    let width = left + n * cell + 16
    let height = top + n * cell + 12 + BitmapFont.lineHeight
    return Geometry(
      left: left, top: top, cell: cell, width: max(width, BitmapFont.width(of: title) * 2 + 24),
      height: height)
  }

  public func render() -> Image {
    let g = geometry()
    let n = counts.count
    var canvas = Canvas(width: g.width, height: g.height, background: .white)
    canvas.text(title, x: (g.width - 2 * BitmapFont.width(of: title)) / 2, y: 8, Self.ink, scale: 2)
    let predictedLabel = "predicted"
    canvas.text(
      predictedLabel, x: g.left + (n * g.cell - BitmapFont.width(of: predictedLabel)) / 2,
      y: g.top - 2 * BitmapFont.lineHeight - 4, Self.ink)
    let trueLabel = "true"
    canvas.verticalText(
      trueLabel, x: 10, y: g.top + (n * g.cell - BitmapFont.width(of: trueLabel)) / 2,
      Self.ink)
    for row in 0..<n {
      let total = counts[row].reduce(0, +)
      let nameY = g.top + row * g.cell + (g.cell - BitmapFont.glyphHeight) / 2
      canvas.text(
        classNames[row], x: g.left - 6 - BitmapFont.width(of: classNames[row]), y: nameY, Self.ink)
      for column in 0..<n {
        let count = counts[row][column]
        let share = total > 0 ? Float(count) / Float(total) : 0
        let color = Self.shade(share)
        let x = g.left + column * g.cell
        let y = g.top + row * g.cell
        canvas.fill(x: x, y: y, width: g.cell, height: g.cell, color)
        let text = "\(count)"
        canvas.text(
          text, x: x + (g.cell - BitmapFont.width(of: text)) / 2,
          y: y + (g.cell - BitmapFont.glyphHeight) / 2 + 1,
          count == 0 ? Self.faint : color.luma < 0.5 ? .white : Self.ink)
      }
    }
    for column in 0..<n {
      let name = classNames[column]
      canvas.text(
        name, x: g.left + column * g.cell + (g.cell - BitmapFont.width(of: name)) / 2,
        y: g.top - BitmapFont.lineHeight - 2, Self.ink)
    }
    canvas.strokeRect(
      x: g.left - 1, y: g.top - 1, width: n * g.cell + 2, height: n * g.cell + 2, Self.ink)
    return canvas.image
  }
}
