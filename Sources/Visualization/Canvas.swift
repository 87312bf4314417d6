import ImageCodecs

/// An RGB raster to draw on: rectangles, lines, text and other images.
///
/// (0, 0) is the top-left pixel. Drawing outside the canvas is clipped, so
/// callers can place things near edges without checks.
public struct Canvas: Sendable {
  public let width: Int
  public let height: Int
  /// Interleaved r, g, b bytes, top row first.
  public private(set) var samples: [UInt8]
  /// Where each text drawn so far went, in drawing order (also the texts of
  /// pictures drawn with `draw(_:x:y:)`).
  public private(set) var textBoxes: [TextBox] = []

  public init(width: Int, height: Int, background: RGB = .white) {
    precondition(width > 0 && height > 0, "canvas must be at least 1×1, got \(width)×\(height)")
    self.width = width
    self.height = height
    samples = [UInt8](repeating: 0, count: width * height * 3)
    for i in 0..<(width * height) {
      samples[3 * i] = background.r
      samples[3 * i + 1] = background.g
      samples[3 * i + 2] = background.b
    }
  }

  /// The canvas as an 8-bit RGB image.
  public var image: Image {
    Image(width: width, height: height, layout: .rgb, samples: samples)
  }

  /// The image with the boxes of its texts.
  public var picture: Picture { Picture(image: image, textBoxes: textBoxes) }

  public subscript(x: Int, y: Int) -> RGB {
    get {
      precondition(
        x >= 0 && x < width && y >= 0 && y < height, "(\(x), \(y)) is outside the canvas")
      let i = 3 * (y * width + x)
      return RGB(samples[i], samples[i + 1], samples[i + 2])
    }
    set { set(x, y, newValue) }
  }

  /// Sets one pixel; ignored outside the canvas.
  @inline(__always)
  public mutating func set(_ x: Int, _ y: Int, _ color: RGB) {
    guard x >= 0 && x < width && y >= 0 && y < height else { return }
    let i = 3 * (y * width + x)
    samples[i] = color.r
    samples[i + 1] = color.g
    samples[i + 2] = color.b
  }

  /// Blends `color` over one pixel with opacity `alpha` (0…1).
  public mutating func blend(_ x: Int, _ y: Int, _ color: RGB, alpha: Float) {
    guard x >= 0 && x < width && y >= 0 && y < height else { return }
    set(x, y, self[x, y].mixed(with: color, amount: alpha))
  }

  public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ color: RGB) {
    for yy in max(y, 0)..<max(min(y + h, height), max(y, 0)) {
      for xx in max(x, 0)..<max(min(x + w, width), max(x, 0)) {
        set(xx, yy, color)
      }
    }
  }

  /// A one-pixel rectangle outline.
  public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, _ color: RGB) {
    fill(x: x, y: y, width: w, height: 1, color)
    fill(x: x, y: y + h - 1, width: w, height: 1, color)
    fill(x: x, y: y, width: 1, height: h, color)
    fill(x: x + w - 1, y: y, width: 1, height: h, color)
  }

  /// A line from (x0, y0) to (x1, y1), both ends included (Bresenham), drawn
  /// `thickness` pixels wide as a square brush.
  public mutating func line(
    from start: (x: Int, y: Int), to end: (x: Int, y: Int), _ color: RGB, thickness: Int = 1
  ) {
    var x = start.x
    var y = start.y
    let dx = abs(end.x - x)
    let dy = -abs(end.y - y)
    let sx = x < end.x ? 1 : -1
    let sy = y < end.y ? 1 : -1
    var error = dx + dy
    let before = (thickness - 1) / 2
    while true {
      fill(x: x - before, y: y - before, width: thickness, height: thickness, color)
      if x == end.x && y == end.y { break }
      let e2 = 2 * error
      if e2 >= dy {
        error += dy
        x += sx
      }
      if e2 <= dx {
        error += dx
        y += sy
      }
    }
  }

  /// Draws `text` with its top-left corner at (x, y) in the built-in font,
  /// each font pixel as a `scale`×`scale` block, and returns (and records)
  /// its box.
  @discardableResult
  public mutating func text(
    _ text: String, x: Int, y: Int, _ color: RGB, scale: Int = 1
  ) -> TextBox {
    precondition(scale >= 1, "text scale must be at least 1")
    var penX = x
    for character in text.unicodeScalars {
      for gy in 0..<BitmapFont.glyphHeight {
        for gx in 0..<BitmapFont.glyphWidth where BitmapFont.isSet(character, x: gx, y: gy) {
          fill(x: penX + gx * scale, y: y + gy * scale, width: scale, height: scale, color)
        }
      }
      penX += BitmapFont.advance * scale
    }
    let box = TextBox(
      text: text, x: x, y: y, width: BitmapFont.width(of: text) * scale,
      height: BitmapFont.glyphHeight * scale)
    textBoxes.append(box)
    return box
  }

  /// Text rotated 90° counter-clockwise (reading bottom to top), its
  /// bounding box's top-left at (x, y): `glyphHeight·scale` wide and as high
  /// as the text is long. For vertical axis names and column labels too long
  /// to stand side by side. Returns (and records) the box.
  @discardableResult
  public mutating func verticalText(
    _ text: String, x: Int, y: Int, _ color: RGB, scale: Int = 1
  ) -> TextBox {
    precondition(scale >= 1, "text scale must be at least 1")
    let length = BitmapFont.width(of: text) * scale
    var pen = 0
    for character in text.unicodeScalars {
      for gy in 0..<BitmapFont.glyphHeight {
        for gx in 0..<BitmapFont.glyphWidth where BitmapFont.isSet(character, x: gx, y: gy) {
          // Glyph column gx goes up from the bottom, glyph row gy goes right.
          fill(
            x: x + gy * scale, y: y + length - (pen + gx + 1) * scale,
            width: scale, height: scale, color)
        }
      }
      pen += BitmapFont.advance
    }
    let box = TextBox(
      text: text, x: x, y: y, width: BitmapFont.glyphHeight * scale, height: length,
      isVertical: true)
    textBoxes.append(box)
    return box
  }

  /// Draws a picture with its top-left at (x, y) and takes over its text
  /// boxes.
  public mutating func draw(_ picture: Picture, x: Int, y: Int) {
    draw(picture.image, x: x, y: y)
    textBoxes += picture.textBoxes.map { $0.offsetBy(x, y) }
  }

  /// Copies an 8-bit gray, gray+alpha, RGB or RGBA image with its top-left at
  /// (x, y), each source pixel as a `scale`×`scale` block. Alpha is blended
  /// over what is already there; 16-bit images keep their high bytes.
  public mutating func draw(_ image: Image, x: Int, y: Int, scale: Int = 1) {
    precondition(scale >= 1, "scale must be at least 1")
    let channels = image.channels
    for sy in 0..<image.height {
      for sx in 0..<image.width {
        let base = (sy * image.width + sx) * channels
        func sample(_ c: Int) -> UInt8 {
          image.bitDepth == .eight
            ? image.samples8[base + c] : UInt8(image.samples16[base + c] >> 8)
        }
        let color: RGB
        switch image.layout {
        case .gray, .grayAlpha: color = RGB(sample(0), sample(0), sample(0))
        case .rgb, .rgba: color = RGB(sample(0), sample(1), sample(2))
        }
        let alpha: Float = image.layout.hasAlpha ? Float(sample(channels - 1)) / 255 : 1
        for dy in 0..<scale {
          for dx in 0..<scale {
            if alpha >= 1 {
              set(x + sx * scale + dx, y + sy * scale + dy, color)
            } else {
              blend(x + sx * scale + dx, y + sy * scale + dy, color, alpha: alpha)
            }
          }
        }
      }
    }
  }
}
