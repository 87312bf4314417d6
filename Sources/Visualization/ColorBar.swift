import ImageCodecs

/// A vertical colour bar: the colour map from `range.lo` (bottom) to
/// `range.hi` (top), with nice tick marks and labels on its right.
public struct ColorBar: Sendable {
  public var colorMap: ColorMap
  public var range: ValueRange
  /// Height of the colour strip in pixels.
  public var length: Int = 256
  public var thickness: Int = 16
  public var background = RGB.white
  public var foreground = RGB(30, 30, 30)
  /// Optional caption above the bar, e.g. "weight".
  public var caption: String?

  public init(colorMap: ColorMap, range: ValueRange) {
    self.colorMap = colorMap
    self.range = range
  }

  static let margin = 8

  public func render() -> Image {
    let ticks = tickValues()
    let labels = ticks.map { NumberText.tick($0, step: tickStep()) }
    let labelWidth = labels.map { BitmapFont.width(of: $0) }.max() ?? 0
    let captionHeight = caption == nil ? 0 : BitmapFont.lineHeight + 4
    let top = Self.margin + captionHeight + BitmapFont.glyphHeight / 2
    let barX = Self.margin
    var width = barX + thickness + 4 + labelWidth + Self.margin
    if let caption { width = max(width, BitmapFont.width(of: caption) + 2 * Self.margin) }
    let height = top + length + BitmapFont.glyphHeight / 2 + Self.margin
    var canvas = Canvas(width: width, height: height, background: background)
    if let caption { canvas.text(caption, x: Self.margin, y: Self.margin, foreground) }
    for row in 0..<length {
      let t = length == 1 ? 0.5 : Float(length - 1 - row) / Float(length - 1)
      canvas.fill(x: barX, y: top + row, width: thickness, height: 1, colorMap.color(at: t))
    }
    canvas.strokeRect(x: barX - 1, y: top - 1, width: thickness + 2, height: length + 2, foreground)
    for (value, label) in zip(ticks, labels) {
      let y = yPosition(of: value, top: top)
      canvas.fill(x: barX + thickness, y: y, width: 3, height: 1, foreground)
      canvas.text(label, x: barX + thickness + 5, y: y - 3, foreground)
    }
    return canvas.image
  }

  /// Row of the bar that shows `value`.
  func yPosition(of value: Double, top: Int) -> Int {
    let span = Double(range.hi - range.lo)
    let t = span > 0 ? (value - Double(range.lo)) / span : 0.5
    return top + Int(((1 - t) * Double(length - 1)).rounded())
  }

  private func tickStep() -> Double {
    AxisTicks(covering: Double(range.lo), Double(range.hi), targetCount: 5).step
  }

  /// Nice ticks inside the range (the bar is not widened to them).
  func tickValues() -> [Double] {
    let lo = Double(range.lo)
    let hi = Double(range.hi)
    guard hi > lo else { return [lo] }
    let inside = AxisTicks(covering: lo, hi, targetCount: 5).values.filter {
      $0 >= lo - 1e-9 * (hi - lo) && $0 <= hi + 1e-9 * (hi - lo)
    }
    return inside.isEmpty ? [lo, hi] : inside
  }
}
