/// One 8-bit sRGB colour.
public struct RGB: Hashable, Sendable, CustomStringConvertible {
  public var r: UInt8
  public var g: UInt8
  public var b: UInt8

  public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
    self.r = r
    self.g = g
    self.b = b
  }

  public static let black = RGB(0, 0, 0)
  public static let white = RGB(255, 255, 255)

  /// `self` moved towards `other` by `amount` (0 keeps `self`, 1 gives `other`).
  public func mixed(with other: RGB, amount: Float) -> RGB {
    let a = min(max(amount, 0), 1)
    func mix(_ p: UInt8, _ q: UInt8) -> UInt8 {
      UInt8((Float(p) * (1 - a) + Float(q) * a).rounded())
    }
    return RGB(mix(r, other.r), mix(g, other.g), mix(b, other.b))
  }

  /// Relative luminance on a 0…1 scale (ITU-R BT.601 weights), used to pick
  /// black or white text over a coloured cell.
  public var luma: Float {
    (0.299 * Float(r) + 0.587 * Float(g) + 0.114 * Float(b)) / 255
  }

  public var description: String { "RGB(\(r), \(g), \(b))" }
}
