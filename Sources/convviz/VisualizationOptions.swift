import ArgumentParser
import Visualization

extension ColorMap: ExpressibleByArgument {}
extension ChannelView: ExpressibleByArgument {}
extension TileLabels: ExpressibleByArgument {}

extension Normalization: ExpressibleByArgument {
  public init?(argument: String) { self.init(parsing: argument) }
  public static var allValueStrings: [String] { ["each", "global", "fixed:LO,HI"] }
  public var defaultValueDescription: String { description }
}

/// `--max-width`, for the commands that draw grids of filters or maps.
struct PictureWidthOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Widest picture in pixels: a large grid gets smaller tiles (down to one pixel per "
        + "weight, maps down to 8 px).", valueName: "px"))
  var maxWidth = Grid.defaultMaxWidth

  func validate() throws {
    if maxWidth < 64 { throw ValidationError("--max-width must be at least 64") }
  }
}
