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
    precondition(
      values.count == width * height, "\(values.count) values for a \(width)×\(height) tile")
    self.width = width
    self.height = height
    self.planes = [values]
    self.label = label
  }

  /// An RGB tile from three planes.
  public init(
    width: Int, height: Int, red: [Float], green: [Float], blue: [Float],
    label: String? = nil
  ) {
    for plane in [red, green, blue] {
      precondition(
        plane.count == width * height, "\(plane.count) values for a \(width)×\(height) tile")
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

extension GridTile {
  /// The tile shrunk by an integer `factor`: each output value is the mean
  /// of a factor × factor block (edge blocks average what they cover), so
  /// large photo-sized maps fit in a grid. Factor 1 returns the tile.
  public func downsampled(by factor: Int) -> GridTile {
    precondition(factor >= 1, "downsampling factor must be at least 1")
    guard factor > 1 else { return self }
    let w = (width + factor - 1) / factor
    let h = (height + factor - 1) / factor
    let shrunk = planes.map { plane -> [Float] in
      var out = [Float](repeating: 0, count: w * h)
      for oy in 0..<h {
        for ox in 0..<w {
          var sum: Float = 0
          var count = 0
          for y in (oy * factor)..<min(height, (oy + 1) * factor) {
            for x in (ox * factor)..<min(width, (ox + 1) * factor) {
              sum += plane[y * width + x]
              count += 1
            }
          }
          out[oy * w + ox] = sum / Float(count)
        }
      }
      return out
    }
    if shrunk.count == 3 {
      return GridTile(
        width: w, height: h, red: shrunk[0], green: shrunk[1], blue: shrunk[2], label: label)
    }
    return GridTile(width: w, height: h, values: shrunk[0], label: label)
  }
}
