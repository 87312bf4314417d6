import ImageCodecs

/// What is written under each tile of a grid.
public enum TileLabels: String, Sendable, CaseIterable {
  /// No label strip.
  case none
  /// The tile's index, from 0.
  case index
  /// The tile's min and max values: "-0.12 to 0.5".
  case range
  /// Index on one line, min and max on the next.
  case indexAndRange
  /// Each tile's own `label` text.
  case custom
}

/// Lays out tiles (filters, feature maps) as one image: normalisation,
/// colour map, nearest-neighbour upscaling, padding and labels.
///
/// All tiles must have the same size. Single-plane tiles go through
/// `colorMap`; RGB tiles map each channel linearly from the tile's range to
/// 0…255. See `Normalization` for how ranges are chosen and `GridLayout` for
/// the geometry. Labels are never cut: a label wider than its tile wraps at
/// spaces, and a word wider than the tile widens the tile's column.
public struct Grid: Sendable {
  public var tiles: [GridTile]
  /// Rows and columns; nil chooses automatically (near-square).
  public var rows: Int?
  public var columns: Int?
  /// Upscaling factor; nil picks one so tiles are at least 48 px.
  public var scale: Int?
  public var padding: Int = 2
  public var padColor = RGB(40, 40, 40)
  public var normalization: Normalization = .global
  public var colorMap: ColorMap = .gray
  public var labels: TileLabels = .none
  public var labelColor = RGB(230, 230, 230)
  /// A one-pixel frame drawn around each tile, inside the padding (which
  /// must then be at least 1); nil draws none.
  public var tileBorder: RGB?
  /// Names of what rows and columns stand for, drawn with the row and
  /// column numbers along the left and top edges; nil draws neither.
  public var axes: GridAxes?

  public init(tiles: [GridTile]) {
    precondition(!tiles.isEmpty, "a grid needs at least one tile")
    let (w, h) = (tiles[0].width, tiles[0].height)
    precondition(tiles.allSatisfy { $0.width == w && $0.height == h }, "grid tiles differ in size")
    self.tiles = tiles
  }

  /// The geometry this grid renders with.
  public func layout() -> GridLayout {
    let scale =
      scale ?? GridLayout.automaticScale(tileWidth: tiles[0].width, tileHeight: tiles[0].height)
    let lines = wrappedLabels(tileWidth: tiles[0].width * scale)
    let lineCount = lines.map(\.count).max() ?? 0
    let widest = lines.joined().map { BitmapFont.width(of: $0) }.max() ?? 0
    return GridLayout(
      tileCount: tiles.count, tileWidth: tiles[0].width, tileHeight: tiles[0].height,
      rows: rows, columns: columns, scale: scale, padding: padding,
      labelHeight: lineCount * BitmapFont.lineHeight + (lineCount > 0 ? 1 : 0),
      labelWidth: widest > 0 ? widest + Self.labelGap - padding : 0)
  }

  /// The size of the rendered image, axes included.
  public func size() -> (width: Int, height: Int) {
    let layout = layout()
    let margins = margins(for: layout)
    return (
      margins.left + max(layout.width, margins.minimumWidth),
      margins.top + max(layout.height, margins.minimumHeight)
    )
  }

  /// Lowers `scale` (down to 1) until the image is at most `width` wide.
  public mutating func shrink(toWidth width: Int) {
    while size().width > width {
      let current = layout().scale
      guard current > 1 else { return }
      scale = current - 1
    }
  }

  /// A width that fits a full-HD screen: the default `maxWidth` of the
  /// pictures of filters and feature maps.
  public static let defaultMaxWidth = 1920

  /// The value range each tile is drawn with, in tile order.
  public func ranges() -> [ValueRange] {
    let symmetric = colorMap.isDiverging && !tiles.contains { $0.isRGB }
    return normalization.ranges(of: tiles.map(\.allValues), symmetric: symmetric)
  }

  /// The range shared by all tiles (for a colour bar); nil with `.each`.
  public func sharedRange() -> ValueRange? {
    normalization == .each ? nil : ranges().first
  }

  public func render() -> Image { picture().image }

  /// The grid with the boxes of its labels and axis texts.
  public func picture() -> Picture {
    let layout = layout()
    let ranges = ranges()
    let lines = wrappedLabels(tileWidth: layout.cellWidth)
    let margins = margins(for: layout)
    let size = size()
    var canvas = Canvas(width: size.width, height: size.height, background: padColor)
    for (index, tile) in tiles.enumerated() {
      let tileOrigin = layout.origin(ofTile: index)
      let origin = (x: margins.left + tileOrigin.x, y: margins.top + tileOrigin.y)
      let range = ranges[index]
      for y in 0..<tile.height {
        for x in 0..<tile.width {
          let i = y * tile.width + x
          let color: RGB
          if tile.isRGB {
            func byte(_ v: Float) -> UInt8 { UInt8((range.position(of: v) * 255).rounded()) }
            color = RGB(byte(tile.planes[0][i]), byte(tile.planes[1][i]), byte(tile.planes[2][i]))
          } else {
            color = colorMap.color(at: range.position(of: tile.planes[0][i]))
          }
          canvas.fill(
            x: origin.x + x * layout.scale, y: origin.y + y * layout.scale,
            width: layout.scale, height: layout.scale, color)
        }
      }
      if let tileBorder, layout.padding >= 1 {
        canvas.strokeRect(
          x: origin.x - 1, y: origin.y - 1, width: layout.cellWidth + 2,
          height: layout.cellHeight + 2, tileBorder)
      }
      // Labels end `labelGap` before the next column's labels begin.
      let labelEnd =
        margins.left + layout.columnLeft(index % layout.columns + 1) - Self.labelGap
      for (lineIndex, line) in lines[index].enumerated() {
        // Under the tile's left edge, moved left if that would end too late.
        canvas.text(
          line, x: min(origin.x, labelEnd - BitmapFont.width(of: line)),
          y: origin.y + layout.cellHeight + 1 + lineIndex * BitmapFont.lineHeight,
          labelColor)
      }
    }
    if let axes { drawAxes(axes, layout: layout, margins: margins, on: &canvas) }
    return canvas.picture
  }

  private func labelLines(index: Int, tile: GridTile) -> [String] {
    func rangeText() -> String {
      let range = ValueRange(of: tile.allValues)
      return NumberText.compact(Double(range.lo)) + " to " + NumberText.compact(Double(range.hi))
    }
    switch labels {
    case .none: return []
    case .index: return ["\(index)"]
    case .range: return [rangeText()]
    case .indexAndRange: return ["\(index)", rangeText()]
    case .custom: return tile.label.map { [$0] } ?? []
    }
  }

  /// The least space between labels of neighbouring columns: a blank
  /// character, so that two labels never read as one.
  static let labelGap = BitmapFont.advance

  /// Each tile's label lines, wrapped to the room under the tile (less the
  /// gap to the next column's labels) or, when a single word is wider, to
  /// the widest word of any label, which then widens every column.
  func wrappedLabels(tileWidth: Int) -> [[String]] {
    let raw = tiles.enumerated().map { labelLines(index: $0, tile: $1) }
    let widestWord = raw.joined().map { BitmapFont.widestWord(of: $0) }.max() ?? 0
    let width = max(tileWidth + padding - Self.labelGap, widestWord)
    return raw.map { lines in lines.flatMap { BitmapFont.wrap($0, width: width) } }
  }
}
