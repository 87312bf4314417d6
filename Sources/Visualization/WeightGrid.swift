import ImageCodecs
import Tensors

/// The picture of one convolution layer's filters: a grid of tiles, a colour
/// bar and a title.
///
/// Defaults: the diverging map (blue negative, white zero, red positive) with
/// `.global` normalisation made symmetric around zero, so every tile is on the
/// same scale and the bar's numbers apply to all of them. Filters with several
/// input channels are a Cout × Cin mosaic (one row per filter) unless `view`
/// is `.mean`.
public struct WeightGrid: Sendable {
  public var kernel: Tensor
  public var title: String
  public var view: ChannelView = .mosaic
  public var normalization: Normalization = .global
  public var colorMap: ColorMap = .diverging
  /// nil chooses (48 px tiles, 24 px for mosaics of more than 256 tiles).
  public var scale: Int?
  /// Text under each tile; nil: the filter index (none for mosaics).
  public var labels: TileLabels?

  /// `kernel` is HWIO (kh, kw, cin, cout).
  public init(kernel: Tensor, title: String) {
    precondition(
      kernel.shape.rank == 4, "a conv kernel is (kh, kw, cin, cout), got \(kernel.shape)")
    self.kernel = kernel
    self.title = title
  }

  /// The grid of the filters, before the colour bar and title are added.
  public func grid() -> Grid {
    let (tiles, columns) = WeightTiles.tiles(kernel: kernel, view: view)
    var grid = Grid(tiles: tiles)
    grid.columns = columns
    grid.colorMap = colorMap
    grid.normalization = normalization
    grid.labels = labels ?? (columns == nil ? .custom : .none)
    grid.padColor = RGB(255, 255, 255)
    grid.labelColor = RGB(30, 30, 30)
    grid.tileBorder = RGB(150, 150, 150)
    let target = tiles.count > 256 ? 24 : 48
    grid.scale =
      scale
      ?? GridLayout.automaticScale(
        tileWidth: kernel.shape[1], tileHeight: kernel.shape[0], target: target)
    grid.padding = columns == nil ? 4 : 2
    return grid
  }

  /// Grid, colour bar (when the tiles share a range) and title.
  public func render() -> Image {
    let grid = grid()
    let image = grid.render()
    guard let range = grid.sharedRange() else { return Canvas.row([image], title: title) }
    var bar = ColorBar(colorMap: colorMap, range: range)
    bar.length = max(64, min(image.height - 16, 320))
    bar.caption = "weight"
    return Canvas.row([image, bar.render()], title: title)
  }

  /// Filters with exactly three input channels as colour tiles (channel 0
  /// red, 1 green, 2 blue; each filter stretched over its own range, so
  /// mid-gray is its middle), titled `title`, or nil for other kernels.
  public func renderRGB() -> Image? {
    guard kernel.shape[2] == 3 else { return nil }
    var grid = Grid(tiles: WeightTiles.rgbTiles(kernel: kernel))
    grid.normalization = .each
    grid.labels = .custom
    grid.padColor = .white
    grid.labelColor = RGB(30, 30, 30)
    grid.tileBorder = RGB(150, 150, 150)
    grid.padding = 4
    grid.scale =
      scale ?? GridLayout.automaticScale(tileWidth: kernel.shape[1], tileHeight: kernel.shape[0])
    return Canvas.row([grid.render()], title: title)
  }
}
