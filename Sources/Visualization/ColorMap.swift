/// How a normalised value t in 0…1 becomes a colour.
///
/// - `gray`: black (t = 0) to white (t = 1).
/// - `viridis`: matplotlib's perceptually uniform map, dark purple (0) through
///   teal to yellow (1). For unsigned data such as feature maps after ReLU.
/// - `diverging`: ColorBrewer's RdBu reversed, for signed data such as
///   weights. Dark blue = most negative, white = zero (t = 0.5), dark red =
///   most positive. Its ranges are always made symmetric around zero (see
///   `isDiverging`), so white means exactly zero.
public enum ColorMap: String, Sendable, CaseIterable {
  case gray, viridis, diverging

  /// Whether value ranges must be symmetric around zero for this map.
  public var isDiverging: Bool { self == .diverging }

  /// The colour for t, clamped to 0…1; NaN gives the colour for 0.
  public func color(at t: Float) -> RGB {
    let t = t.isNaN ? 0 : min(max(t, 0), 1)
    switch self {
    case .gray:
      let v = UInt8((t * 255).rounded())
      return RGB(v, v, v)
    case .viridis:
      return Self.viridisTable[Int((t * 255).rounded())]
    case .diverging:
      return Self.interpolate(Self.divergingAnchors, at: t)
    }
  }

  /// ColorBrewer RdBu (11 classes, Cynthia A. Brewer, Apache-2.0 licence,
  /// https://colorbrewer2.org), reversed so that negative is blue, with the
  /// middle class #F7F7F7 replaced by pure white so that zero reads as white.
  static let divergingAnchors: [RGB] = [
    RGB(0x05, 0x30, 0x61), RGB(0x21, 0x66, 0xAC), RGB(0x43, 0x93, 0xC3),
    RGB(0x92, 0xC5, 0xDE), RGB(0xD1, 0xE5, 0xF0), RGB(0xFF, 0xFF, 0xFF),
    RGB(0xFD, 0xDB, 0xC7), RGB(0xF4, 0xA5, 0x82), RGB(0xD6, 0x60, 0x4D),
    RGB(0xB2, 0x18, 0x2B), RGB(0x67, 0x00, 0x1F),
  ]

  /// Piecewise-linear interpolation between equally spaced anchors.
  static func interpolate(_ anchors: [RGB], at t: Float) -> RGB {
    let position = t * Float(anchors.count - 1)
    let index = min(Int(position), anchors.count - 2)
    return anchors[index].mixed(with: anchors[index + 1], amount: position - Float(index))
  }
}
