import ImageCodecs

@testable import Visualization

/// Small images and pixel look-ups for the tests.
enum ImageSamples {
  static func rgba(_ pixels: [(UInt8, UInt8, UInt8, UInt8)], width: Int, height: Int) -> Image {
    Image(
      width: width, height: height, layout: .rgba,
      samples: pixels.flatMap { [$0.0, $0.1, $0.2, $0.3] })
  }

  /// Pixel (x, y) of an 8-bit RGB image.
  static func pixel(_ image: Image, _ x: Int, _ y: Int) -> RGB {
    precondition(image.layout == .rgb)
    let i = (y * image.width + x) * 3
    return RGB(image.samples8[i], image.samples8[i + 1], image.samples8[i + 2])
  }
}
