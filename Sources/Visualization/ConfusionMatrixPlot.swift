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

  /// Where the parts go: the matrix's top-left corner and cell side, the
  /// image size, and whether the column names stand upright (read bottom to
  /// top) because one of them is wider than a cell.
  public struct Geometry: Equatable, Sendable {
    public let left: Int, top: Int, cell: Int, width: Int, height: Int
    public let verticalColumnNames: Bool
  }

  static let margin = 10
  /// Space between an axis name, the class names and the matrix.
  static let spacing = 6
  /// Free pixels on each side of a horizontal column name in its cell.
  static let namePadding = 2

  public func geometry() -> Geometry {
    let n = counts.count
    let widestCount = counts.joined().map { BitmapFont.width(of: "\($0)") }.max() ?? 0
    let cell = cellSize ?? max(26, widestCount + 8)
    let nameWidth = classNames.map { BitmapFont.width(of: $0) }.max() ?? 0
    let vertical = nameWidth > cell - 2 * Self.namePadding
    let columnNamesHeight = vertical ? nameWidth : BitmapFont.glyphHeight
    let titleBottom = 8 + 2 * BitmapFont.glyphHeight + 8
    let top =
      titleBottom + BitmapFont.glyphHeight + Self.spacing + columnNamesHeight + Self.spacing
    let left = Self.margin + BitmapFont.glyphHeight + Self.spacing + nameWidth + Self.spacing
    let matrixSide = n * cell
    // The axis names may be longer than a small matrix is wide or high.
    let predictedRight =
      max(left, left + (matrixSide - BitmapFont.width(of: "predicted")) / 2)
      + BitmapFont.width(of: "predicted")
    let trueBottom =
      max(top, top + (matrixSide - BitmapFont.width(of: "true")) / 2) + BitmapFont.width(of: "true")
    let width = max(left + matrixSide, predictedRight) + Self.margin + 6
    let height = max(top + matrixSide, trueBottom) + Self.margin + 2
    return Geometry(
      left: left, top: top, cell: cell,
      width: max(width, 2 * BitmapFont.width(of: title) + 2 * Self.margin), height: height,
      verticalColumnNames: vertical)
  }

  public func render() -> Image { picture().image }

  /// The heat map with the boxes of its texts (title, axis names, class
  /// names and counts).
  public func picture() -> Picture {
    let g = geometry()
    let n = counts.count
    let side = n * g.cell
    var canvas = Canvas(width: g.width, height: g.height, background: .white)
    canvas.text(title, x: (g.width - 2 * BitmapFont.width(of: title)) / 2, y: 8, Self.ink, scale: 2)
    let predictedLabel = "predicted"
    canvas.text(
      predictedLabel, x: max(g.left, g.left + (side - BitmapFont.width(of: predictedLabel)) / 2),
      y: 8 + 2 * BitmapFont.glyphHeight + 8, Self.ink)
    let trueLabel = "true"
    canvas.verticalText(
      trueLabel, x: Self.margin,
      y: max(g.top, g.top + (side - BitmapFont.width(of: trueLabel)) / 2),
      Self.ink)
    for row in 0..<n {
      let total = counts[row].reduce(0, +)
      let nameY = g.top + row * g.cell + (g.cell - BitmapFont.glyphHeight) / 2
      canvas.text(
        classNames[row], x: g.left - Self.spacing - BitmapFont.width(of: classNames[row]),
        y: nameY, Self.ink)
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
      let length = BitmapFont.width(of: name)
      if g.verticalColumnNames {
        // Upright, centred on the column, ending just above the matrix.
        canvas.verticalText(
          name, x: g.left + column * g.cell + (g.cell - BitmapFont.glyphHeight) / 2,
          y: g.top - Self.spacing - length, Self.ink)
      } else {
        canvas.text(
          name, x: g.left + column * g.cell + (g.cell - length) / 2,
          y: g.top - Self.spacing - BitmapFont.glyphHeight, Self.ink)
      }
    }
    canvas.strokeRect(
      x: g.left - 1, y: g.top - 1, width: side + 2, height: side + 2, Self.ink)
    return canvas.picture
  }
}
