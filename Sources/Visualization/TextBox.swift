/// The rectangle of pixels one piece of text was drawn in.
///
/// Every text drawn on a `Canvas` is recorded as a box, so that the layout
/// of a picture can be checked: labels must not intersect each other and
/// must lie inside the image. The box covers the glyphs' cells (5×9 pixels
/// per character at scale 1, rows for descenders included) without the gap
/// after the last character.
public struct TextBox: Equatable, Sendable, CustomStringConvertible {
  public var text: String
  public var x: Int
  public var y: Int
  public var width: Int
  public var height: Int
  /// Drawn rotated, reading from bottom to top.
  public var isVertical: Bool

  public init(text: String, x: Int, y: Int, width: Int, height: Int, isVertical: Bool = false) {
    self.text = text
    self.x = x
    self.y = y
    self.width = width
    self.height = height
    self.isVertical = isVertical
  }

  /// The height of the letters (the box's width when vertical).
  public var letterHeight: Int { isVertical ? width : height }

  /// Whether the two boxes share at least one pixel (boxes that only touch
  /// do not intersect).
  public func intersects(_ other: TextBox) -> Bool {
    x < other.x + other.width && other.x < x + width && y < other.y + other.height
      && other.y < y + height
  }

  /// Whether the box lies completely inside a `width` × `height` image.
  public func isInside(width imageWidth: Int, height imageHeight: Int) -> Bool {
    x >= 0 && y >= 0 && x + width <= imageWidth && y + height <= imageHeight
  }

  /// The box moved by (dx, dy).
  public func offsetBy(_ dx: Int, _ dy: Int) -> TextBox {
    var moved = self
    moved.x += dx
    moved.y += dy
    return moved
  }

  /// The same box grown by `margin` pixels on every side.
  public func inflated(by margin: Int) -> TextBox {
    TextBox(
      text: text, x: x - margin, y: y - margin, width: width + 2 * margin,
      height: height + 2 * margin, isVertical: isVertical)
  }

  public var description: String {
    "\"\(text)\" at (\(x), \(y)) \(width)×\(height)\(isVertical ? " vertical" : "")"
  }

  /// Every pair of `boxes` that intersect, in drawing order; empty when the
  /// labels are all apart.
  public static func overlaps(in boxes: [TextBox]) -> [(TextBox, TextBox)] {
    var pairs: [(TextBox, TextBox)] = []
    for i in boxes.indices {
      for j in boxes.indices where j > i && boxes[i].intersects(boxes[j]) {
        pairs.append((boxes[i], boxes[j]))
      }
    }
    return pairs
  }
}
