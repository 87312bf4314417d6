import ImageCodecs

extension Canvas {
  /// Pictures side by side, top-aligned, under an optional title (scale 2)
  /// and caption (scale 1, wrapped to the pictures' width), with `margin`
  /// pixels of background on every side. With `maxWidth`, a title or
  /// caption wider than that wraps onto more lines.
  ///
  /// Neighbours are `gap` pixels apart, or further when texts of the two
  /// that share a line would otherwise come closer than `textSpacing` times
  /// their letter height (3 × 18 px for titles): two titles side by side
  /// must not read as one line.
  public static func row(
    _ pictures: [Picture], title: String? = nil, caption: String? = nil, gap: Int = 12,
    textSpacing: Int = 3, margin: Int = 8, maxWidth: Int? = nil, background: RGB = .white,
    ink: RGB = RGB(30, 30, 30)
  ) -> Picture {
    precondition(!pictures.isEmpty, "nothing to compose")
    var offsets = [0]
    for (left, right) in zip(pictures, pictures.dropFirst()) {
      let spacing = max(gap, requiredGap(between: left, and: right, textSpacing: textSpacing))
      offsets.append(offsets[offsets.count - 1] + left.width + spacing)
    }
    let contentWidth = offsets[offsets.count - 1] + pictures[pictures.count - 1].width
    let room = maxWidth.map { $0 - 2 * margin } ?? Int.max
    let titleLines = title.map { BitmapFont.wrap($0, width: room / 2) } ?? []
    let titleWidth = 2 * (titleLines.map { BitmapFont.width(of: $0) }.max() ?? 0)
    let captionLines =
      caption.map {
        BitmapFont.wrap($0, width: min(max(contentWidth, titleWidth, 240), room))
      } ?? []
    let captionWidth = captionLines.map { BitmapFont.width(of: $0) }.max() ?? 0
    let titleLineHeight = 2 * BitmapFont.lineHeight
    let titleHeight = titleLines.isEmpty ? 0 : titleLines.count * titleLineHeight + 6
    let captionHeight = captionLines.isEmpty ? 0 : captionLines.count * BitmapFont.lineHeight + 6
    let top = margin + titleHeight + captionHeight
    let width = 2 * margin + max(contentWidth, titleWidth, captionWidth)
    let height = top + margin + (pictures.map(\.height).max() ?? 0)
    var canvas = Canvas(width: width, height: height, background: background)
    for (index, line) in titleLines.enumerated() {
      canvas.text(line, x: margin, y: margin + index * titleLineHeight, ink, scale: 2)
    }
    for (index, line) in captionLines.enumerated() {
      canvas.text(
        line, x: margin, y: margin + titleHeight + index * BitmapFont.lineHeight, ink)
    }
    for (picture, offset) in zip(pictures, offsets) {
      canvas.draw(picture, x: margin + offset, y: top)
    }
    return canvas.picture
  }

  /// Images side by side; see `row(_:title:caption:gap:textSpacing:margin:maxWidth:background:ink:)`.
  public static func row(
    _ images: [Image], title: String? = nil, caption: String? = nil, gap: Int = 12,
    margin: Int = 8, background: RGB = .white, ink: RGB = RGB(30, 30, 30)
  ) -> Image {
    row(
      images.map { Picture(image: $0) }, title: title, caption: caption, gap: gap,
      margin: margin, background: background, ink: ink
    ).image
  }

  /// The least gap between `left` and `right`, top-aligned, that keeps every
  /// pair of their texts sharing a row `textSpacing` letter heights apart.
  static func requiredGap(between left: Picture, and right: Picture, textSpacing: Int) -> Int {
    var required = 0
    for a in left.textBoxes {
      for b in right.textBoxes where a.y < b.y + b.height && b.y < a.y + a.height {
        let letterHeight = max(a.letterHeight, b.letterHeight)
        required = max(required, textSpacing * letterHeight - (left.width - (a.x + a.width)) - b.x)
      }
    }
    return required
  }
}
