import ImageCodecs

/// A line chart (loss or accuracy curves) rasterised to an RGB image: framed
/// axes with nice ticks and grid lines, tick labels, axis labels, a title
/// and a legend.
///
/// The plot area spans the data widened to whole tick steps (see
/// `AxisTicks`). Points with a NaN coordinate break the line.
public struct LinePlot: Sendable {
  public struct Series: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// nil takes the next colour of `LinePlot.palette`.
    public var color: RGB?
    /// Points alone, as dots with no line between them (a scatter plot).
    public var isScatter = false

    public init(name: String, x: [Double], y: [Double], color: RGB? = nil) {
      precondition(x.count == y.count, "series \(name): \(x.count) x values, \(y.count) y values")
      self.name = name
      self.x = x
      self.y = y
      self.color = color
    }
  }

  public var title: String
  public var xLabel: String
  public var yLabel: String
  public var series: [Series]
  public var width = 640
  public var height = 400
  /// Fixed axis ranges; nil fits the data.
  public var xRange: ClosedRange<Double>?
  public var yRange: ClosedRange<Double>?
  /// Ticks on the x axis at whole numbers only (epochs).
  public var integerX = false

  /// matplotlib's tab10 colours: blue, orange, green, red, purple, brown,
  /// pink, grey, olive, cyan.
  public static let palette: [RGB] = [
    RGB(0x1F, 0x77, 0xB4), RGB(0xFF, 0x7F, 0x0E), RGB(0x2C, 0xA0, 0x2C),
    RGB(0xD6, 0x27, 0x28), RGB(0x94, 0x67, 0xBD), RGB(0x8C, 0x56, 0x4B),
    RGB(0xE3, 0x77, 0xC2), RGB(0x7F, 0x7F, 0x7F), RGB(0xBC, 0xBD, 0x22),
    RGB(0x17, 0xBE, 0xCF),
  ]
  static let ink = RGB(30, 30, 30)
  static let gridColor = RGB(225, 225, 225)

  public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
    self.series = series
  }

  /// The plot area (inside the axes) in image pixels.
  public struct Frame: Equatable, Sendable {
    public let left: Int, top: Int, right: Int, bottom: Int
  }

  /// Ticks of both axes, from the data or the fixed ranges.
  public func ticks() -> (x: AxisTicks, y: AxisTicks) {
    func bounds(_ values: [Double], fixed: ClosedRange<Double>?) -> (Double, Double) {
      if let fixed { return (fixed.lowerBound, fixed.upperBound) }
      let finite = values.filter(\.isFinite)
      return (finite.min() ?? 0, finite.max() ?? 1)
    }
    let (x0, x1) = bounds(series.flatMap(\.x), fixed: xRange)
    let (y0, y1) = bounds(series.flatMap(\.y), fixed: yRange)
    return (
      AxisTicks(covering: x0, x1, targetCount: 8, minimumStep: integerX ? 1 : 0),
      AxisTicks(covering: y0, y1, targetCount: 8)
    )
  }

  public func frame() -> Frame {
    let (_, yTicks) = ticks()
    let labelWidth =
      yTicks.values.map { BitmapFont.width(of: NumberText.tick($0, step: yTicks.step)) }
      .max() ?? 0
    let left = 12 + BitmapFont.lineHeight + 6 + labelWidth + 6
    let top = 14 + 2 * BitmapFont.lineHeight
    return Frame(
      left: left, top: top, right: width - 20, bottom: height - 16 - 2 * BitmapFont.lineHeight)
  }

  /// Pixel position of data point (x, y).
  public func pixel(x: Double, y: Double) -> (x: Int, y: Int) {
    let (xt, yt) = ticks()
    let f = frame()
    let px = Double(f.left) + (x - xt.lo) / (xt.hi - xt.lo) * Double(f.right - f.left)
    let py = Double(f.bottom) - (y - yt.lo) / (yt.hi - yt.lo) * Double(f.bottom - f.top)
    return (Int(px.rounded()), Int(py.rounded()))
  }

  public func render() -> Image { picture().image }

  /// The chart with the boxes of its texts (title, axis names, tick labels,
  /// legend).
  public func picture() -> Picture {
    precondition(width >= 160 && height >= 120, "plot must be at least 160×120")
    var canvas = Canvas(width: width, height: height, background: .white)
    let (xt, yt) = ticks()
    let f = frame()
    for v in xt.values {
      let px = pixel(x: v, y: yt.lo).x
      canvas.fill(x: px, y: f.top, width: 1, height: f.bottom - f.top, Self.gridColor)
      canvas.fill(x: px, y: f.bottom, width: 1, height: 5, Self.ink)
      let label = NumberText.tick(v, step: xt.step)
      canvas.text(label, x: px - BitmapFont.width(of: label) / 2, y: f.bottom + 7, Self.ink)
    }
    for v in yt.values {
      let py = pixel(x: xt.lo, y: v).y
      canvas.fill(x: f.left, y: py, width: f.right - f.left, height: 1, Self.gridColor)
      canvas.fill(x: f.left - 5, y: py, width: 5, height: 1, Self.ink)
      let label = NumberText.tick(v, step: yt.step)
      canvas.text(label, x: f.left - 7 - BitmapFont.width(of: label), y: py - 4, Self.ink)
    }
    canvas.strokeRect(
      x: f.left, y: f.top, width: f.right - f.left + 1, height: f.bottom - f.top + 1, Self.ink)

    for (index, s) in series.enumerated() {
      let color = s.color ?? Self.palette[index % Self.palette.count]
      if s.isScatter {
        for (x, y) in zip(s.x, s.y) where x.isFinite && y.isFinite {
          let p = pixel(x: x, y: y)
          canvas.fill(x: p.x - 1, y: p.y - 1, width: 3, height: 3, color)
        }
        continue
      }
      var previous: (x: Int, y: Int)?
      for (x, y) in zip(s.x, s.y) {
        guard x.isFinite && y.isFinite else {
          previous = nil
          continue
        }
        let p = pixel(x: x, y: y)
        if let previous { canvas.line(from: previous, to: p, color, thickness: 2) }
        if s.x.count <= 40 { canvas.fill(x: p.x - 2, y: p.y - 2, width: 5, height: 5, color) }
        previous = p
      }
    }

    canvas.text(title, x: (width - 2 * BitmapFont.width(of: title)) / 2, y: 8, Self.ink, scale: 2)
    canvas.text(
      xLabel, x: (f.left + f.right - BitmapFont.width(of: xLabel)) / 2,
      y: height - 8 - BitmapFont.glyphHeight, Self.ink)
    canvas.verticalText(
      yLabel, x: 10, y: (f.top + f.bottom - BitmapFont.width(of: yLabel)) / 2, Self.ink)
    drawLegend(on: &canvas, frame: f)
    return canvas.picture
  }

  /// The legend box's size.
  func legendSize() -> (width: Int, height: Int) {
    let nameWidth = series.map { BitmapFont.width(of: $0.name) }.max() ?? 0
    return (8 + 20 + 6 + nameWidth + 8, 6 + series.count * (BitmapFont.lineHeight + 4) + 2)
  }

  /// Top-left corner of the legend: the corner of the plot area (top-right
  /// first, then top-left, bottom-right, bottom-left) that covers the fewest
  /// points of the curves, sampled along every segment.
  public func legendOrigin() -> (x: Int, y: Int) {
    let f = frame()
    let (w, h) = legendSize()
    let corners = [
      (f.right - 8 - w, f.top + 8), (f.left + 8, f.top + 8),
      (f.right - 8 - w, f.bottom - 8 - h), (f.left + 8, f.bottom - 8 - h),
    ]
    var samples: [(x: Int, y: Int)] = []
    for s in series {
      var previous: (x: Int, y: Int)?
      for (x, y) in zip(s.x, s.y) {
        guard x.isFinite && y.isFinite else {
          previous = nil
          continue
        }
        let p = pixel(x: x, y: y)
        if let previous, !s.isScatter {
          for k in 0...16 {
            samples.append(
              (previous.x + (p.x - previous.x) * k / 16, previous.y + (p.y - previous.y) * k / 16))
          }
        }
        samples.append(p)
        previous = p
      }
    }
    func covered(_ corner: (Int, Int)) -> Int {
      samples.filter {
        $0.x >= corner.0 - 4 && $0.x <= corner.0 + w + 4 && $0.y >= corner.1 - 4
          && $0.y <= corner.1 + h + 4
      }.count
    }
    var best = corners[0]
    var bestCount = covered(best)
    for corner in corners.dropFirst() where bestCount > 0 {
      let count = covered(corner)
      if count < bestCount {
        best = corner
        bestCount = count
      }
    }
    return best
  }

  /// A boxed legend in the corner that hides the least of the curves: a
  /// line for each curve, a square for each scatter.
  func drawLegend(on canvas: inout Canvas, frame f: Frame) {
    guard !series.isEmpty else { return }
    let (boxWidth, boxHeight) = legendSize()
    let (x, y) = legendOrigin()
    canvas.fill(x: x, y: y, width: boxWidth, height: boxHeight, .white)
    canvas.strokeRect(x: x, y: y, width: boxWidth, height: boxHeight, RGB(160, 160, 160))
    for (index, s) in series.enumerated() {
      let color = s.color ?? Self.palette[index % Self.palette.count]
      let rowY = y + 6 + index * (BitmapFont.lineHeight + 4)
      if s.isScatter {
        canvas.fill(x: x + 15, y: rowY + 1, width: 6, height: 6, color)
      } else {
        canvas.fill(x: x + 8, y: rowY + 3, width: 20, height: 2, color)
      }
      canvas.text(s.name, x: x + 8 + 20 + 6, y: rowY, Self.ink)
    }
  }
}
