/// What the rows and the columns of a grid stand for, such as a mosaic's
/// filters (rows) and input channels (columns). A grid with axes gets the
/// two names and the row and column numbers, from 0, along its left and top
/// edges; when the numbers are too close to stand side by side, only every
/// 2nd, 5th, 10th, … is written.
public struct GridAxes: Equatable, Sendable {
  /// Written upright along the left edge, e.g. "filter".
  public var rows: String
  /// Written above the column numbers, e.g. "input channel".
  public var columns: String

  public init(rows: String, columns: String) {
    self.rows = rows
    self.columns = columns
  }
}

/// The space around a grid's tiles taken by its axes.
struct GridMargins: Equatable {
  var left = 0
  var top = 0
  /// The tile area is at least this wide or high, for axis names longer
  /// than the grid.
  var minimumWidth = 0
  var minimumHeight = 0
}

extension Grid {
  static let axisGap = 4

  func margins(for layout: GridLayout) -> GridMargins {
    guard let axes else { return GridMargins() }
    let rowNumberWidth = BitmapFont.width(of: "\(layout.rows - 1)")
    return GridMargins(
      left: 2 + BitmapFont.glyphHeight + Self.axisGap + rowNumberWidth + 2,
      top: 2 + BitmapFont.glyphHeight + Self.axisGap + BitmapFont.glyphHeight + 2,
      minimumWidth: BitmapFont.width(of: axes.columns) + layout.padding,
      minimumHeight: BitmapFont.width(of: axes.rows) + layout.padding)
  }

  /// The smallest of 1, 2, 5, 10, 20, 50, … with which every `step`-th of
  /// labels `size` pixels long, `pitch` pixels apart, keeps `gap` pixels free.
  static func numberStep(pitch: Int, size: Int, gap: Int) -> Int {
    var step = 1
    var decade = 1
    while step * pitch < size + gap {
      switch step / decade {
      case 1: step = 2 * decade
      case 2: step = 5 * decade
      default:
        decade *= 10
        step = decade
      }
    }
    return step
  }

  func drawAxes(
    _ axes: GridAxes, layout: GridLayout, margins: GridMargins, on canvas: inout Canvas
  ) {
    let width = max(layout.width, margins.minimumWidth)
    let height = max(layout.height, margins.minimumHeight)
    canvas.text(
      axes.columns,
      x: margins.left + max(0, (width - BitmapFont.width(of: axes.columns)) / 2), y: 2,
      labelColor)
    canvas.verticalText(
      axes.rows, x: 2,
      y: margins.top + max(0, (height - BitmapFont.width(of: axes.rows)) / 2), labelColor)
    let columnStep = Self.numberStep(
      pitch: layout.columnWidth + layout.padding,
      size: BitmapFont.width(of: "\(layout.columns - 1)"), gap: BitmapFont.advance)
    for column in stride(from: 0, to: layout.columns, by: columnStep) {
      let text = "\(column)"
      let x = margins.left + layout.origin(row: 0, column: column).x
      canvas.text(
        text, x: x + (layout.cellWidth - BitmapFont.width(of: text)) / 2,
        y: margins.top - 2 - BitmapFont.glyphHeight, labelColor)
    }
    let rowStep = Self.numberStep(
      pitch: layout.rowHeight + layout.padding, size: BitmapFont.glyphHeight, gap: 2)
    for row in stride(from: 0, to: layout.rows, by: rowStep) {
      let text = "\(row)"
      let y = margins.top + layout.origin(row: row, column: 0).y
      canvas.text(
        text, x: margins.left - 2 - BitmapFont.width(of: text),
        y: y + (layout.cellHeight - BitmapFont.glyphHeight) / 2, labelColor)
    }
  }
}
