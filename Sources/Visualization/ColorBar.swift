import ImageCodecs

/// A vertical colour bar: the colour map from `range.lo` (bottom) to
/// `range.hi` (top), with nice tick marks and labels on its right, or with
/// words at its two ends (`endLabels`) when the tiles it explains each have
/// their own range.
public struct ColorBar: Sendable {
  public var colorMap: ColorMap
  public var range: ValueRange
  /// Height of the colour strip in pixels.
  public var length: Int = 256
  public var thickness: Int = 16
  public var background = RGB.white
  public var foreground = RGB(30, 30, 30)
  /// Optional caption above the bar, e.g. "weight"; "\n" starts a new line.
  public var caption: String?
  /// Words written at the top and bottom instead of numbers, e.g. "max" and
  /// "min"; `range` is then not shown.
  public var endLabels: (low: String, high: String)?

  public init(colorMap: ColorMap, range: ValueRange) {
    self.colorMap = colorMap
    self.range = range
  }

  static let margin = 8

  private var captionLines: [String] {
    caption.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
      ?? []
  }

  /// The height of everything but the strip: what a caller subtracts from
  /// the space it has to find `length`.
  public var overhead: Int {
    let captionHeight = captionLines.isEmpty ? 0 : captionLines.count * BitmapFont.lineHeight + 4
    return 2 * Self.margin + captionHeight + 2 * (BitmapFont.glyphHeight / 2)
  }

  /// The image width: the strip, the widest label and the caption.
  public var width: Int {
    let labels =
      endLabels.map { [$0.low, $0.high] }
      ?? tickValues().map { NumberText.tick($0, step: tickStep()) }
    let labelWidth = labels.map { BitmapFont.width(of: $0) }.max() ?? 0
    let captionWidth = captionLines.map { BitmapFont.width(of: $0) }.max() ?? 0
    return max(Self.margin + thickness + 5 + labelWidth, Self.margin + captionWidth) + Self.margin
  }

  public func render() -> Image { picture().image }

  /// The bar with the boxes of its caption and tick labels.
  public func picture() -> Picture {
    let marks: [(y: Int, label: String)]
    let lines = captionLines
    let captionHeight = lines.isEmpty ? 0 : lines.count * BitmapFont.lineHeight + 4
    let top = Self.margin + captionHeight + BitmapFont.glyphHeight / 2
    if let endLabels {
      marks = [(top + length - 1, endLabels.low), (top, endLabels.high)]
    } else {
      let step = tickStep()
      marks = tickValues().map { (yPosition(of: $0, top: top), NumberText.tick($0, step: step)) }
    }
    let barX = Self.margin
    let height = top + length + BitmapFont.glyphHeight / 2 + Self.margin
    var canvas = Canvas(width: width, height: height, background: background)
    for (index, line) in lines.enumerated() {
      canvas.text(line, x: Self.margin, y: Self.margin + index * BitmapFont.lineHeight, foreground)
    }
    for row in 0..<length {
      let t = length == 1 ? 0.5 : Float(length - 1 - row) / Float(length - 1)
      canvas.fill(x: barX, y: top + row, width: thickness, height: 1, colorMap.color(at: t))
    }
    canvas.strokeRect(x: barX - 1, y: top - 1, width: thickness + 2, height: length + 2, foreground)
    // Bottom to top; a label that would touch the one below it is left out
    // (its tick mark stays), so numbers never overlap on a short bar.
    var lowestFreeY = Int.max
    for mark in marks {
      canvas.fill(x: barX + thickness, y: mark.y, width: 3, height: 1, foreground)
      let labelY = mark.y - 3
      guard labelY + BitmapFont.lineHeight <= lowestFreeY else { continue }
      canvas.text(mark.label, x: barX + thickness + 5, y: labelY, foreground)
      lowestFreeY = labelY
    }
    return canvas.picture
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
