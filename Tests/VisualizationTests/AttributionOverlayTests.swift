import ImageCodecs
import Tensors
import XCTest

@testable import Visualization

/// The explanation picture's pixels: a known map over a known image, and
/// the colour bar's ends.
final class AttributionOverlayTests: XCTestCase {
  /// viridis's ends (matplotlib: #440154 and #fde725).
  let viridisLow = RGB(0x44, 0x01, 0x54)
  let viridisHigh = RGB(0xFD, 0xE7, 0x25)

  func testBlendIsPhotoAndColourMixedByAlpha() {
    // A 3×2 gray photo and a map rising from 0 to 2 along the first row.
    let photo = Image(width: 3, height: 2, layout: .gray, samples: [100, 0, 255, 50, 50, 50])
    let map = Tensor(shape: Shape(2, 3), storage: [0, 1, 2, 0, 0, 2])
    let range = ValueRange(lo: 0, hi: 2)
    let image = AttributionOverlay.blend(
      photo: photo, map: map, range: range, colorMap: .viridis, alpha: 0.5, scale: 2)
    XCTAssertEqual(image.width, 6)
    XCTAssertEqual(image.height, 4)
    func pixel(_ x: Int, _ y: Int) -> [UInt8] {
      Array(image.samples8[(3 * (y * image.width + x))..<(3 * (y * image.width + x) + 3)])
    }
    // (100 + 0x44) / 2 = 84, (100 + 1) / 2 = 50.5 → 51, (100 + 0x54) / 2 = 92.
    XCTAssertEqual(pixel(0, 0), [84, 51, 92])
    XCTAssertEqual(pixel(1, 1), [84, 51, 92], "each map cell is a 2×2 block")
    // (255 + 253) / 2 = 254, (255 + 231) / 2 = 243, (255 + 37) / 2 = 146.
    XCTAssertEqual(pixel(4, 0), [254, 243, 146])
    // (50 + 253) / 2 = 151.5 → 152, (50 + 231) / 2 = 140.5 → 141, (50 + 37) / 2 = 43.5 → 44.
    XCTAssertEqual(pixel(5, 3), [152, 141, 44])
    let opaque = AttributionOverlay.blend(
      photo: photo, map: map, range: range, colorMap: .viridis, alpha: 1)
    XCTAssertEqual(Array(opaque.samples8[0..<3]), [viridisLow.r, viridisLow.g, viridisLow.b])
    let clear = AttributionOverlay.blend(
      photo: photo, map: map, range: range, colorMap: .viridis, alpha: 0)
    XCTAssertEqual(Array(clear.samples8[0..<9]), [100, 100, 100, 0, 0, 0, 255, 255, 255])
  }

  /// Signed maps are drawn around zero: 0 is white in the diverging map.
  func testSignedMapsAreCentredOnZero() {
    let map = Tensor(shape: Shape(1, 3), storage: [-1, 0, 0.5])
    let range = AttributionOverlay.range(of: map, colorMap: .diverging)
    XCTAssertEqual(range.lo, -1)
    XCTAssertEqual(range.hi, 1)
    let photo = Image(width: 3, height: 1, layout: .gray, samples: [0, 0, 0])
    let image = AttributionOverlay.blend(
      photo: photo, map: map, range: range, colorMap: .diverging, alpha: 1)
    XCTAssertEqual(Array(image.samples8[0..<6]), [0x05, 0x30, 0x61, 255, 255, 255])
  }

  /// The picture: the 4×3 photo enlarged to 256×192, and a colour bar
  /// whose top row is the map's maximum colour and bottom row its minimum.
  func testPictureHasTheEnlargedOverlayAndAColourBarOfTheMapsRange() {
    let photo = Image(width: 4, height: 3, layout: .gray, samples: [UInt8](repeating: 0, count: 12))
    let map = Tensor(shape: Shape(3, 4), storage: (0..<12).map { Float($0) })
    let picture = AttributionOverlay.picture(
      photo: photo, map: map, colorMap: .viridis, alpha: 0.5, caption: "7 p=0.998")
    let image = picture.image
    func pixels(_ color: RGB) -> [(x: Int, y: Int)] {
      var found: [(Int, Int)] = []
      for y in 0..<image.height {
        for x in 0..<image.width {
          let i = 3 * (y * image.width + x)
          if RGB(image.samples8[i], image.samples8[i + 1], image.samples8[i + 2]) == color {
            found.append((x, y))
          }
        }
      }
      return found
    }
    // Over black, alpha 0.5 halves the colour: the top-left cell (value 0).
    let darkest = pixels(RGB(0x22, 0x01, 0x2A))
    XCTAssertEqual(darkest.count, 64 * 64, "one 64×64 block")
    // The pure end colours appear only in the bar: one row each, the
    // maximum above the minimum, as wide as the strip.
    let top = pixels(viridisHigh)
    let bottom = pixels(viridisLow)
    XCTAssertEqual(Set(top.map(\.y)).count, 1)
    XCTAssertEqual(Set(bottom.map(\.y)).count, 1)
    XCTAssertEqual(top.map(\.x), bottom.map(\.x))
    XCTAssertEqual(top.count, 16, "the bar's thickness")
    XCTAssertLessThan(top[0].y, bottom[0].y)
    XCTAssertGreaterThan(top[0].x, darkest.map(\.x).max() ?? 0, "the bar is right of the overlay")
    XCTAssertTrue(picture.textBoxes.contains { $0.text == "7 p=0.998" })
    XCTAssertTrue(picture.textBoxes.contains { $0.text == "11" || $0.text == "10" })
  }
}
