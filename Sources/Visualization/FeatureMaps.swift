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
  /// grid of photo-sized maps stays viewable.
  public static func grid(
    _ maps: Tensor, colorMap: ColorMap = .viridis,
    normalization: Normalization = .each, maxTileSide: Int = 256,
    labels: TileLabels = .custom
  ) -> Grid {
    let (_, mapHeight, mapWidth) = dimensions(maps)
    let factor = max(1, (max(mapHeight, mapWidth) + maxTileSide - 1) / maxTileSide)
    let shrunk = tiles(maps).map { $0.downsampled(by: factor) }
    let (h, w) = (shrunk[0].height, shrunk[0].width)
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
    grid.scale = factor > 1 ? 1 : GridLayout.automaticScale(tileWidth: w, tileHeight: h, target: 96)
    return grid
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
  /// stand out and weak ones let the photo through.
  public static func overlay(
    photo: Image, maps: Tensor, channel: Int,
    colorMap: ColorMap = .viridis
  ) -> Image {
    let (_, h, w) = dimensions(maps)
    let gray = photo.to8Bit().converted(to: .gray).samples8
    let plane = Array(maps.storage[(channel * h * w)..<((channel + 1) * h * w)])
    let range = ValueRange(of: plane)
    var canvas = Canvas(width: photo.width, height: photo.height)
    for y in 0..<photo.height {
      let my = min(h - 1, y * h / photo.height)
      for x in 0..<photo.width {
        let mx = min(w - 1, x * w / photo.width)
        let v = gray[y * photo.width + x]
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
