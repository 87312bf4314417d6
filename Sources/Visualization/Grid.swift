import ImageCodecs

/// What is written under each tile of a grid.
public enum TileLabels: String, Sendable, CaseIterable {
  /// No label strip.
  case none
  /// The tile's index, from 0.
  case index
  /// The tile's min and max values.
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
/// the geometry.
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

  public init(tiles: [GridTile]) {
    precondition(!tiles.isEmpty, "a grid needs at least one tile")
    let (w, h) = (tiles[0].width, tiles[0].height)
    precondition(tiles.allSatisfy { $0.width == w && $0.height == h }, "grid tiles differ in size")
    self.tiles = tiles
  }

  /// The geometry this grid renders with.
  public func layout() -> GridLayout {
    let (w, h) = (tiles[0].width, tiles[0].height)
    return GridLayout(
      tileCount: tiles.count, tileWidth: w, tileHeight: h, rows: rows, columns: columns,
      scale: scale ?? GridLayout.automaticScale(tileWidth: w, tileHeight: h),
      padding: padding,
      labelHeight: labelLineCount * BitmapFont.lineHeight + (labelLineCount > 0 ? 1 : 0))
  }

  /// The value range each tile is drawn with, in tile order.
  public func ranges() -> [ValueRange] {
    let symmetric = colorMap.isDiverging && !tiles.contains { $0.isRGB }
    return normalization.ranges(of: tiles.map(\.allValues), symmetric: symmetric)
  }

  /// The range shared by all tiles (for a colour bar); nil with `.each`.
  public func sharedRange() -> ValueRange? {
    normalization == .each ? nil : ranges().first
  }

  public func render() -> Image {
    let layout = layout()
    let ranges = ranges()
    var canvas = Canvas(width: layout.width, height: layout.height, background: padColor)
    for (index, tile) in tiles.enumerated() {
      let origin = layout.origin(ofTile: index)
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
      let lines = labelLines(index: index, tile: tile)
      for (lineIndex, line) in lines.enumerated() {
        let fitted = fit(line, width: layout.cellWidth + layout.padding)
        canvas.text(
          fitted, x: origin.x,
          y: origin.y + layout.cellHeight + 1 + lineIndex * BitmapFont.lineHeight,
          labelColor)
      }
    }
    return canvas.image
  }

  private var labelLineCount: Int {
    switch labels {
    case .none: return 0
    case .index, .range: return 1
    case .indexAndRange: return 2
    case .custom: return tiles.contains { $0.label != nil } ? 1 : 0
    }
  }

  private func labelLines(index: Int, tile: GridTile) -> [String] {
    let range = ValueRange(of: tile.allValues)
    let rangeText =
      NumberText.compact(Double(range.lo)) + " " + NumberText.compact(Double(range.hi))
    switch labels {
    case .none: return []
    case .index: return ["\(index)"]
    case .range: return [rangeText]
    case .indexAndRange: return ["\(index)", rangeText]
    case .custom: return tile.label.map { [$0] } ?? []
    }
  }

  /// `text` cut to the characters that fit in `width` pixels.
  private func fit(_ text: String, width: Int) -> String {
    let fitting = max(0, (width + 1) / BitmapFont.advance)
    return String(text.unicodeScalars.prefix(fitting).map(Character.init))
  }
}
