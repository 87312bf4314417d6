import ImageCodecs

/// A 2-D map of labelled points (an embedding), one colour per class with
/// a legend, drawn with `LinePlot`'s axes, ticks and legend; optionally
/// the points' images placed on the map, as TensorBoard's projector does.
public struct ScatterPlot: Sendable {
  public var title: String
  public var xLabel: String
  public var yLabel: String
  /// (x, y) per point.
  public var points: [(x: Double, y: Double)]
  /// Each point's class, an index into `classNames`.
  public var labels: [Int]
  public var classNames: [String]
  /// Drawn centred on their points, framed in their class's colour, in
  /// order; one that would cover an earlier one or the legend is left out.
  /// Empty draws dots only.
  public var thumbnails: [Image] = []
  public var width = 800
  public var height = 640

  public init(
    title: String, xLabel: String, yLabel: String, points: [(x: Double, y: Double)],
    labels: [Int], classNames: [String]
  ) {
    precondition(points.count == labels.count, "one label per point")
    precondition(labels.allSatisfy { $0 >= 0 && $0 < classNames.count }, "labels name classes")
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
    self.points = points
    self.labels = labels
    self.classNames = classNames
  }

  /// The colour of class `k`: tab10's, repeating after ten classes.
  public static func color(ofClass k: Int) -> RGB { LinePlot.palette[k % LinePlot.palette.count] }

  /// The plot the dots, axes and legend are drawn with: one scatter series
  /// per class that has points.
  public func linePlot() -> LinePlot {
    let series = classNames.indices.compactMap { k -> LinePlot.Series? in
      let mine = points.indices.filter { labels[$0] == k }
      guard !mine.isEmpty else { return nil }
      var s = LinePlot.Series(
        name: classNames[k], x: mine.map { points[$0].x }, y: mine.map { points[$0].y },
        color: Self.color(ofClass: k))
      s.isScatter = true
      return s
    }
    var plot = LinePlot(title: title, xLabel: xLabel, yLabel: yLabel, series: series)
    plot.width = width
    plot.height = height
    return plot
  }

  public func render() -> Image { picture().image }

  public func picture() -> Picture {
    let plot = linePlot()
    var canvas = Canvas(width: width, height: height)
    canvas.draw(plot.picture(), x: 0, y: 0)
    guard !thumbnails.isEmpty else { return canvas.picture }
    let (lx, ly) = plot.legendOrigin()
    let (lw, lh) = plot.legendSize()
    var taken: [(x: Int, y: Int, w: Int, h: Int)] = [(lx, ly, lw, lh)]
    for (index, image) in thumbnails.enumerated() where index < points.count {
      let p = plot.pixel(x: points[index].x, y: points[index].y)
      let (w, h) = (image.width + 2, image.height + 2)
      let box = (x: p.x - w / 2, y: p.y - h / 2, w: w, h: h)
      let overlaps = taken.contains {
        box.x < $0.x + $0.w && $0.x < box.x + box.w && box.y < $0.y + $0.h && $0.y < box.y + box.h
      }
      guard !overlaps, box.x >= 0, box.y >= 0, box.x + w <= width, box.y + h <= height else {
        continue
      }
      canvas.strokeRect(x: box.x, y: box.y, width: w, height: h, Self.color(ofClass: labels[index]))
      canvas.draw(image, x: box.x + 1, y: box.y + 1)
      taken.append(box)
    }
    return canvas.picture
  }
}
