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
