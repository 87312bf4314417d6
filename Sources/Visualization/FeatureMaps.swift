import ImageCodecs
import Tensors

/// Pictures of feature maps: the activations of one layer for one image.
public enum FeatureMaps {
  /// One tile per channel of a (1, C, H, W) or (C, H, W) tensor, labelled by
  /// channel index.
  public static func tiles(_ maps: Tensor) -> [GridTile] {
    let (c, h, w) = dimensions(maps)
    return (0..<c).map { k in
      GridTile(
        width: w, height: h, values: Array(maps.storage[(k * h * w)..<((k + 1) * h * w)]),
        label: "\(k)")
    }
  }

  /// The grid of maps. Defaults: viridis, `.each` normalisation (every map
  /// stretched to its own min…max, so weak maps still show their pattern).
  /// Maps longer than `maxTileSide` are shrunk by box averaging so that a
  /// grid of photo-sized maps stays viewable; with `maxWidth`, small maps are
  /// enlarged less and large ones shrunk further (to 8 px at least) until
  /// the grid is at most that wide.
  public static func grid(
    _ maps: Tensor, colorMap: ColorMap = .viridis,
    normalization: Normalization = .each, maxTileSide: Int = 256,
    labels: TileLabels = .custom, maxWidth: Int? = nil
  ) -> Grid {
    let (_, mapHeight, mapWidth) = dimensions(maps)
    let longer = max(mapHeight, mapWidth)
    var factor = max(1, (longer + maxTileSide - 1) / maxTileSide)
    let tiles = tiles(maps)
    func grid(factor: Int, scale: Int? = nil) -> Grid {
      let shrunk = tiles.map { $0.downsampled(by: factor) }
      var grid = Grid(tiles: shrunk)
      grid.colorMap = colorMap
      grid.normalization = normalization
      grid.labels = labels
      grid.padColor = .white
      grid.labelColor = RGB(30, 30, 30)
      grid.tileBorder = RGB(150, 150, 150)
      grid.padding = 4
      // Small maps (MNIST's 26×26) are enlarged to about 96 px; shrunk
      // photo-sized maps are shown as they are.
      grid.scale =
        scale
        ?? (factor > 1
          ? 1
          : GridLayout.automaticScale(
            tileWidth: shrunk[0].width, tileHeight: shrunk[0].height, target: 96))
      return grid
    }
    var result = grid(factor: factor)
    guard let maxWidth else { return result }
    result.shrink(toWidth: maxWidth)
    while result.size().width > maxWidth && (longer + factor) / (factor + 1) >= 8 {
      factor += 1
      result = grid(factor: factor, scale: 1)
    }
    return result
  }

  /// The grid of maps under `title`, with a small colour bar that says which
  /// colour map and which normalisation the maps are drawn with (numbers on
  /// it when all maps share one range). Arguments as for `grid`; the whole
  /// picture is at most `maxWidth` wide where the maps can shrink that far.
  public static func picture(
    _ maps: Tensor, title: String? = nil, colorMap: ColorMap = .viridis,
    normalization: Normalization = .each, maxTileSide: Int = 256,
    labels: TileLabels = .custom, maxWidth: Int? = Grid.defaultMaxWidth
  ) -> Picture {
    let (margin, gap) = (8, 12)
    func sized(barWidth: Int) -> (Grid, ColorBar) {
      let grid = self.grid(
        maps, colorMap: colorMap, normalization: normalization, maxTileSide: maxTileSide,
        labels: labels, maxWidth: maxWidth.map { $0 - 2 * margin - gap - barWidth })
      return (
        grid,
        colorBar(colorMap: colorMap, normalization: normalization, range: grid.sharedRange())
      )
    }
    // The bar's numbers depend on the (shrunk) maps' range and its width on
    // the numbers, so the first pass only measures the bar.
    var (grid, bar) = sized(barWidth: 0)
    (grid, bar) = sized(barWidth: bar.width)
    let gridPicture = grid.picture()
    bar.length = min(160, max(48, gridPicture.height - bar.overhead))
    return Canvas.row(
      [gridPicture, bar.picture()], title: title, gap: gap, margin: margin, maxWidth: maxWidth)
  }

  /// The colour bar of a feature-map grid: the colour map's name and how
  /// values become colours ("each map: its own min..max", "all maps: one
  /// range", "fixed range"), with numbers when the maps share `range`.
  public static func colorBar(
    colorMap: ColorMap, normalization: Normalization, range: ValueRange?
  ) -> ColorBar {
    var bar = ColorBar(colorMap: colorMap, range: range ?? ValueRange(lo: 0, hi: 1))
    bar.thickness = 12
    switch normalization {
    case .each:
      bar.caption = "\(colorMap.rawValue)\neach map:\nits own\nmin..max"
      bar.endLabels = colorMap.isDiverging ? ("-max", "+max") : ("min", "max")
    case .global:
      bar.caption = "\(colorMap.rawValue)\nall maps:\none range"
    case .fixed:
      bar.caption = "\(colorMap.rawValue)\nfixed range"
    }
    return bar
  }

  /// The channel with the largest mean activation.
  public static func strongestChannel(_ maps: Tensor) -> Int {
    let (c, h, w) = dimensions(maps)
    var best = 0
    var bestMean = -Float.infinity
    for k in 0..<c {
      var sum: Float = 0
      for v in maps.storage[(k * h * w)..<((k + 1) * h * w)] { sum += v }
      let mean = sum / Float(h * w)
      if mean > bestMean {
        best = k
        bestMean = mean
      }
    }
    return best
  }

  /// `photo` (shown in gray) with channel `channel` of `maps` drawn over it
  /// through `colorMap`: each map cell is stretched over the photo (nearest
  /// neighbour) and blended with opacity 0.15 + 0.7·t, so strong responses
  /// stand out and weak ones let the photo through. A photo whose longer
  /// side is under `minimumSide` pixels is enlarged by a whole factor
  /// (nearest neighbour) until it is not, so a 28×28 digit stays legible.
  public static func overlay(
    photo: Image, maps: Tensor, channel: Int,
    colorMap: ColorMap = .viridis, minimumSide: Int = 256
  ) -> Image {
    let (_, h, w) = dimensions(maps)
    let gray = photo.to8Bit().converted(to: .gray).samples8
    let plane = Array(maps.storage[(channel * h * w)..<((channel + 1) * h * w)])
    let range = ValueRange(of: plane)
    let scale = GridLayout.automaticScale(
      tileWidth: photo.width, tileHeight: photo.height, target: minimumSide)
    let (width, height) = (photo.width * scale, photo.height * scale)
    var canvas = Canvas(width: width, height: height)
    for y in 0..<height {
      let my = min(h - 1, y * h / height)
      for x in 0..<width {
        let mx = min(w - 1, x * w / width)
        let v = gray[(y / scale) * photo.width + x / scale]
        let t = range.position(of: plane[my * w + mx])
        canvas.set(x, y, RGB(v, v, v).mixed(with: colorMap.color(at: t), amount: 0.15 + 0.7 * t))
      }
    }
    return canvas.image
  }

  static func dimensions(_ maps: Tensor) -> (Int, Int, Int) {
    switch maps.shape.rank {
    case 4:
      precondition(maps.shape[0] == 1, "feature maps of one image, got batch \(maps.shape[0])")
      return (maps.shape[1], maps.shape[2], maps.shape[3])
    case 3:
      return (maps.shape[0], maps.shape[1], maps.shape[2])
    default:
      preconditionFailure("feature maps are (1, C, H, W) or (C, H, W), got \(maps.shape)")
    }
  }
}
