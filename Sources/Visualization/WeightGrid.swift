import ImageCodecs
import Tensors

/// The picture of one convolution layer's filters: a grid of tiles, a colour
/// bar and a title.
///
/// Defaults: the diverging map (blue negative, white zero, red positive) with
/// `.global` normalisation made symmetric around zero, so every tile is on the
/// same scale and the bar's numbers apply to all of them. Filters with several
/// input channels are a Cout × Cin mosaic (one row per filter, numbered down
/// the left; one column per input channel, numbered along the top, with a
/// caption saying so) unless `view` is `.mean`.
public struct WeightGrid: Sendable {
  public var kernel: Tensor
  public var title: String
  public var view: ChannelView = .mosaic
  public var normalization: Normalization = .global
  public var colorMap: ColorMap = .diverging
  /// nil chooses (48 px tiles, 24 px for mosaics of more than 256 tiles,
  /// less when `maxWidth` asks for it).
  public var scale: Int?
  /// Text under each tile; nil: the filter index (none for mosaics).
  public var labels: TileLabels?
  /// With an automatic `scale`, the widest the picture may be (as far as
  /// one pixel per weight allows); nil for no limit.
  public var maxWidth: Int? = Grid.defaultMaxWidth

  /// `kernel` is HWIO (kh, kw, cin, cout).
  public init(kernel: Tensor, title: String) {
    precondition(
      kernel.shape.rank == 4, "a conv kernel is (kh, kw, cin, cout), got \(kernel.shape)")
    self.kernel = kernel
    self.title = title
  }

  /// Whether the filters are drawn as a filter × input-channel mosaic.
  public var isMosaic: Bool { view == .mosaic && kernel.shape[2] > 1 }

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
    if columns != nil { grid.axes = GridAxes(rows: "filter", columns: "input channel") }
    let target = tiles.count > 256 ? 24 : 48
    grid.scale =
      scale
      ?? GridLayout.automaticScale(
        tileWidth: kernel.shape[1], tileHeight: kernel.shape[0], target: target)
    grid.padding = columns == nil ? 4 : 2
    if scale == nil, let maxWidth { grid.shrink(toWidth: maxWidth) }
    return grid
  }

  /// "Row r, column c: the 3x3 weights from input channel c into filter r."
  public var mosaicCaption: String {
    let (kh, kw) = (kernel.shape[0], kernel.shape[1])
    return "Row r, column c: the \(kh)x\(kw) weights that filter r (output channel r) "
      + "applies to input channel c."
  }

  public func render() -> Image { picture().image }

  /// Grid, colour bar (when the tiles share a range), title and, for a
  /// mosaic, the caption that says what rows and columns are.
  public func picture() -> Picture {
    let (margin, gap) = (8, 12)
    var sized = self
    var bar: ColorBar?
    if let range = grid().sharedRange() {
      var shared = ColorBar(colorMap: colorMap, range: range)
      shared.caption = "weight"
      sized.maxWidth = maxWidth.map { $0 - 2 * margin - gap - shared.width }
      bar = shared
    } else {
      sized.maxWidth = maxWidth.map { $0 - 2 * margin }
    }
    let gridPicture = sized.grid().picture()
    var parts = [gridPicture]
    if var bar {
      bar.length = max(64, min(gridPicture.height - 16, 320))
      parts.append(bar.picture())
    }
    return Canvas.row(
      parts, title: title, caption: isMosaic ? mosaicCaption : nil, gap: gap, margin: margin,
      maxWidth: maxWidth)
  }

  /// Filters with exactly three input channels as colour tiles (channel 0
  /// red, 1 green, 2 blue; each filter stretched over its own range, so
  /// mid-gray is its middle), titled `title`, or nil for other kernels.
  public func renderRGB() -> Image? { pictureRGB()?.image }

  /// `renderRGB` with the boxes of its texts.
  public func pictureRGB() -> Picture? {
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
    if scale == nil, let maxWidth { grid.shrink(toWidth: maxWidth - 16) }
    return Canvas.row(
      [grid.picture()], title: title,
      caption: "Red, green, blue: the weights on input channels 0, 1, 2, "
        + "each filter on its own scale (mid-gray = its middle).", maxWidth: maxWidth)
  }
}
