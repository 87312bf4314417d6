/// One tile of a grid: a 2-D map of floats drawn through a colour map, or
/// three maps drawn as the red, green and blue channels.
public struct GridTile: Sendable {
  public let width: Int
  public let height: Int
  /// One plane (colour-mapped) or three (RGB), each `width × height` values,
  /// top row first.
  public let planes: [[Float]]
  /// Text under the tile when the grid's labels are `.custom`.
  public var label: String?

  /// A single-channel tile.
  public init(width: Int, height: Int, values: [Float], label: String? = nil) {
    precondition(values.count == width * height, "\(values.count) values for a \(width)×\(height) tile")
    self.width = width
    self.height = height
    self.planes = [values]
    self.label = label
  }

  /// An RGB tile from three planes.
  public init(width: Int, height: Int, red: [Float], green: [Float], blue: [Float],
              label: String? = nil) {
    for plane in [red, green, blue] {
      precondition(plane.count == width * height, "\(plane.count) values for a \(width)×\(height) tile")
    }
    self.width = width
    self.height = height
    self.planes = [red, green, blue]
    self.label = label
  }

  public var isRGB: Bool { planes.count == 3 }

  /// All values of all planes, for range computations.
  var allValues: [Float] { planes.count == 1 ? planes[0] : planes.flatMap { $0 } }
}
