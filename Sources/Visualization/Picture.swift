import ImageCodecs

/// A rendered picture and the boxes of all text drawn on it, so that
/// pictures can be composed (the boxes move with them) and their labels
/// checked for overlaps.
public struct Picture: Sendable {
  public var image: Image
  /// In image pixels, in drawing order.
  public var textBoxes: [TextBox]

  public init(image: Image, textBoxes: [TextBox] = []) {
    self.image = image
    self.textBoxes = textBoxes
  }

  public var width: Int { image.width }
  public var height: Int { image.height }
}
