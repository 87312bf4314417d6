/// Where the tiles of a grid go: rows, columns, sizes and padding.
///
/// Tiles are placed row by row, left to right. Each cell is the tile enlarged
/// `scale` times (nearest neighbour), with a label strip of `labelHeight`
/// pixels under it; a column is as wide as the tile or, when a label is
/// wider (`labelWidth`), as the label, with the tile centred in it.
/// `padding` pixels of pad colour surround every cell, including the outer
/// border, so the image is `padding + columns × (columnWidth + padding)`
/// wide and `padding + rows × (tileHeight·scale + labelHeight + padding)`
/// high.
public struct GridLayout: Equatable, Sendable {
  public let tileCount: Int
  public let rows: Int
  public let columns: Int
  public let tileWidth: Int
  public let tileHeight: Int
  public let scale: Int
  public let padding: Int
  public let labelHeight: Int
  /// The column width the labels need (their widest line, plus the gap to
  /// the next column's labels, less the padding); columns are at least this
  /// wide. 0 for none.
  public let labelWidth: Int

  /// Chooses rows and columns the caller left open: with neither, the most
  /// nearly square grid with columns = ⌈√N⌉ and rows = ⌈N / columns⌉; with
  /// one, the other is the fewest that hold N tiles.
  public init(
    tileCount: Int, tileWidth: Int, tileHeight: Int, rows: Int? = nil, columns: Int? = nil,
    scale: Int = 1, padding: Int = 2, labelHeight: Int = 0, labelWidth: Int = 0
  ) {
    precondition(tileCount >= 1, "a grid needs at least one tile")
    precondition(tileWidth >= 1 && tileHeight >= 1, "tiles must be at least 1×1")
    precondition(
      scale >= 1 && padding >= 0 && labelHeight >= 0 && labelWidth >= 0,
      "scale ≥ 1, padding ≥ 0, label sizes ≥ 0")
    let chosenColumns: Int
    let chosenRows: Int
    switch (rows, columns) {
    case (nil, nil):
      var c = 1
      while c * c < tileCount { c += 1 }
      chosenColumns = c
      chosenRows = (tileCount + c - 1) / c
    case (let r?, nil):
      precondition(r >= 1, "rows must be at least 1")
      chosenRows = r
      chosenColumns = (tileCount + r - 1) / r
    case (nil, let c?):
      precondition(c >= 1, "columns must be at least 1")
      chosenColumns = c
      chosenRows = (tileCount + c - 1) / c
    case (let r?, let c?):
      precondition(r * c >= tileCount, "\(r)×\(c) cells cannot hold \(tileCount) tiles")
      chosenRows = r
      chosenColumns = c
    }
    self.tileCount = tileCount
    self.rows = chosenRows
    self.columns = chosenColumns
    self.tileWidth = tileWidth
    self.tileHeight = tileHeight
    self.scale = scale
    self.padding = padding
    self.labelHeight = labelHeight
    self.labelWidth = labelWidth
  }

  /// The smallest integer scale that makes a tile's longer side at least
  /// `target` pixels (a 3×3 filter becomes 3×16 = 48 px); 1 for large tiles.
  public static func automaticScale(tileWidth: Int, tileHeight: Int, target: Int = 48) -> Int {
    let side = max(tileWidth, tileHeight)
    return max(1, (target + side - 1) / side)
  }

  public var cellWidth: Int { tileWidth * scale }
  public var cellHeight: Int { tileHeight * scale }
  public var columnWidth: Int { max(cellWidth, labelWidth) }
  public var rowHeight: Int { cellHeight + labelHeight }
  public var width: Int { padding + columns * (columnWidth + padding) }
  public var height: Int { padding + rows * (rowHeight + padding) }

  /// Top-left pixel of tile `index`'s enlarged image.
  public func origin(ofTile index: Int) -> (x: Int, y: Int) {
    precondition(index >= 0 && index < tileCount, "tile \(index) of \(tileCount)")
    return origin(row: index / columns, column: index % columns)
  }

  /// Top-left pixel of the enlarged tile in cell (row, column).
  public func origin(row: Int, column: Int) -> (x: Int, y: Int) {
    (columnLeft(column) + (columnWidth - cellWidth) / 2, padding + row * (rowHeight + padding))
  }

  /// Left edge of column `column`.
  public func columnLeft(_ column: Int) -> Int { padding + column * (columnWidth + padding) }
}
