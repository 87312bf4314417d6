import ImageCodecs

extension Canvas {
  /// Images side by side, top-aligned, with a gap and an optional title line
  /// above them; the result has `margin` pixels of background on every side.
  public static func row(
    _ images: [Image], title: String? = nil, gap: Int = 12, margin: Int = 8,
    background: RGB = .white, ink: RGB = RGB(30, 30, 30)
  ) -> Image {
    precondition(!images.isEmpty, "nothing to compose")
    let titleHeight = title == nil ? 0 : 2 * BitmapFont.lineHeight + 6
    let contentWidth = images.map(\.width).reduce(0, +) + gap * (images.count - 1)
    let titleWidth = title.map { 2 * BitmapFont.width(of: $0) } ?? 0
    let width = 2 * margin + max(contentWidth, titleWidth)
    let height = 2 * margin + titleHeight + (images.map(\.height).max() ?? 0)
    var canvas = Canvas(width: width, height: height, background: background)
    if let title { canvas.text(title, x: margin, y: margin, ink, scale: 2) }
    var x = margin
    for image in images {
      canvas.draw(image, x: x, y: margin + titleHeight)
      x += image.width + gap
    }
    return canvas.image
  }
}
