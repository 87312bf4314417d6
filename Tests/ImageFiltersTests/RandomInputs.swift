import ImageCodecs
import Tensors

@testable import ImageFilters

/// The seeded random images and pooling windows the filter, pooling and
/// streaming tests draw their cases from.
enum RandomInputs {
  /// `width`×`height` samples, each uniform over the depth's range.
  static func image(
    width: Int, height: Int, layout: Image.Layout, sixteen: Bool,
    using rng: inout some RandomNumberGenerator
  ) -> Image {
    let count = width * height * layout.channels
    return sixteen
      ? Image(
        width: width, height: height, layout: layout,
        samples16: (0..<count).map { _ in UInt16.random(in: 0...65535, using: &rng) })
      : Image(
        width: width, height: height, layout: layout,
        samples: (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
  }

  /// A window of 1...4 a side, stride the window's or 1...5, and valid, same
  /// or explicit padding smaller than the window (as the Engine's pooling
  /// layers take it).
  static func poolOptions(using rng: inout SeededGenerator) -> PoolOptions {
    let size = AxisPair(
      x: Int.random(in: 1...4, using: &rng), y: Int.random(in: 1...4, using: &rng))
    let stride =
      Bool.random(using: &rng)
      ? nil : AxisPair(x: Int.random(in: 1...5, using: &rng), y: Int.random(in: 1...5, using: &rng))
    let padding: Padding
    switch Int.random(in: 0..<3, using: &rng) {
    case 0: padding = .valid
    case 1: padding = .same
    default:
      padding = .explicit(
        top: Int.random(in: 0..<size.y, using: &rng),
        bottom: Int.random(in: 0..<size.y, using: &rng),
        left: Int.random(in: 0..<size.x, using: &rng),
        right: Int.random(in: 0..<size.x, using: &rng))
    }
    return PoolOptions(size: size, stride: stride, padding: padding)
  }
}
