@testable import Explain
import Foundation
import ImageCodecs
import Tensors
import Visualization
import XCTest

@testable import convviz

/// The pixels of every picture the explanation commands draw, beyond the
/// overlay and colour bar (`AttributionOverlayTests`): the written
/// pictures' colour bars for every method, the grid of classes and
/// methods, `maximize`'s and `top-patches`' grids, and the report's
/// Grad-CAM figures.
final class ExplainPictureTests: XCTestCase {
  static func pixel(_ image: Image, _ x: Int, _ y: Int) -> RGB {
    let rgb = image.to8Bit().converted(to: .rgb).samples8
    let i = 3 * (y * image.width + x)
    return RGB(rgb[i], rgb[i + 1], rgb[i + 2])
  }

  static func count(_ image: Image, _ color: RGB) -> Int {
    let rgb = image.to8Bit().converted(to: .rgb).samples8
    return stride(from: 0, to: rgb.count, by: 3).filter {
      RGB(rgb[$0], rgb[$0 + 1], rgb[$0 + 2]) == color
    }.count
  }

  /// Every method's picture (guided ones included) has a colour bar whose
  /// ends are its colour map's: viridis for unsigned maps, the diverging
  /// map's dark red and dark blue for signed ones; one row each, the
  /// maximum on top.
  func testEveryMethodsPictureHasItsColourBarsEnds() throws {
    let fixture = try VisualizationFixture.trained()
    let out = try TrainingScratchFolder()
    for method in ExplainCommand.Method.allCases {
      let result = try TrainingCLI.run(
        [
          "explain", fixture.model, fixture.photo, "--method", method.rawValue, "--class", "0",
          "-o", out.path,
        ] + (method == .occlusion ? ["--window", "3"] : []))
      XCTAssertEqual(result.status, 0, result.stderr)
      let image = try ImageFile.read(out.path + "/photo-\(method.rawValue)-class0.png")
      let signed = method == .integratedGradients || method == .occlusion
      let (high, low) =
        signed
        ? (ColorMap.diverging.color(at: 1), ColorMap.diverging.color(at: 0))
        : (ColorMap.viridis.color(at: 1), ColorMap.viridis.color(at: 0))
      var rows: [RGB: Set<Int>] = [:]
      for y in 0..<image.height {
        for x in 0..<image.width {
          let c = Self.pixel(image, x, y)
          if c == high || c == low { rows[c, default: []].insert(y) }
        }
      }
      XCTAssertEqual(rows[high]?.count, 1, "\(method): one row of the top colour")
      XCTAssertEqual(rows[low]?.count, 1, "\(method): one row of the bottom colour")
      XCTAssertLessThan(rows[high]?.first ?? 1, rows[low]?.first ?? 0, "\(method)")
    }
  }

  /// Rows of pictures are stacked, each row side by side with Canvas.row's
  /// margin (8) and gap (12).
  func testTheGridOfClassesAndMethodsPlacesEachPicture() {
    func solid(_ w: Int, _ h: Int, _ c: RGB) -> Picture {
      var canvas = Canvas(width: w, height: h, background: c)
      canvas.fill(x: 0, y: 0, width: w, height: h, c)
      return Picture(image: canvas.image)
    }
    let red = RGB(200, 0, 0)
    let green = RGB(0, 200, 0)
    let blue = RGB(0, 0, 200)
    let image = ExplainCommand.grid([
      [solid(10, 6, red), solid(10, 6, green)], [solid(10, 6, blue), solid(4, 4, red)],
    ])
    // Each row: 8 + 10 + 12 + 10 + 8 = 48 wide, 8 + 6 + 8 = 22 high.
    XCTAssertEqual(image.width, 48)
    XCTAssertEqual(image.height, 44)
    XCTAssertEqual(Self.pixel(image, 8, 8), red)
    XCTAssertEqual(Self.pixel(image, 17, 13), red)
    XCTAssertEqual(Self.pixel(image, 30, 8), green)
    XCTAssertEqual(Self.pixel(image, 8, 22 + 8), blue)
    XCTAssertEqual(Self.pixel(image, 30, 22 + 8), red)
    XCTAssertEqual(Self.pixel(image, 7, 8), .white, "the margin")
    XCTAssertEqual(Self.count(image, red), 60 + 16)
    XCTAssertEqual(Self.count(image, blue), 60)
  }

  /// `maximize`'s grid: each tile stretched to its own range (darkest
  /// black, brightest white), an 8×8 input drawn 16× larger; 3-channel
  /// images in colour.
  func testMaximizeGridStretchesEachTile() {
    func result(_ unit: Int, channels: Int, _ values: (Int) -> Float) -> MaximizedInput {
      MaximizedInput(
        unit: unit,
        image: Tensor(shape: Shape(channels, 8, 8), storage: (0..<(channels * 64)).map(values)),
        history: [])
    }
    // Unit 0: one bright pixel on 0.3; unit 1: one dark pixel on 0.6.
    let gray = Maximize.grid(
      [
        result(0, channels: 1) { $0 == 0 ? 0.9 : 0.3 },
        result(1, channels: 1) { $0 == 9 ? 0.1 : 0.6 },
      ],
      classNames: [], height: 8, width: 8)
    // Unit 0's bright pixel and unit 1's 63 other pixels are white, the
    // rest black, each a 16×16 block (the padding and labels are grey).
    XCTAssertEqual(Self.count(gray, .white), 64 * 256)
    XCTAssertEqual(Self.count(gray, .black), 64 * 256)
    // The colour tiles: only the red channel lit.
    let colour = Maximize.grid(
      [result(2, channels: 3) { $0 < 64 ? ($0 == 0 ? 1 : 0.5) : 0 }], classNames: [], height: 8,
      width: 8)
    XCTAssertEqual(Self.count(colour, RGB(255, 0, 0)), 256, "the brightest red pixel, 16×16")
  }

  /// `top-patches`' grid: crops drawn at their true values (0 black, 1
  /// white), whatever their scale.
  func testTopPatchesGridDrawsCropsAtTheirValues() {
    let crop = Tensor(shape: Shape(1, 3, 3), storage: [1, 1, 1, 1, 0, 1, 1, 1, 1])
    let patches = [[Patch(value: 2, sample: 0, y: 1, x: 1, crop: crop)]]
    let image = TopPatchesCommand.grid(patches, units: nil)
    let black = Self.count(image, .black)
    XCTAssertGreaterThan(black, 0)
    XCTAssertEqual(Self.count(image, .white), 8 * black, "eight white cells to one black")
  }

  /// The report's Grad-CAM figure: the map over the picture enlarged to
  /// 112 pixels, as `explain` draws it (alpha 0.5, viridis).
  func testReportsGradCAMFigureIsTheOverlay() throws {
    let picture = Tensor(zeros: Shape(1, 1, 2, 2))
    let map = Tensor(shape: Shape(2, 2), storage: [0, 1, 2, 3])
    let png = try Report.overlay(picture, map, caption: "7 p=0.99")
    let out = try TrainingScratchFolder()
    let path = try out.write(png, to: "figure.png")
    let image = try ImageFile.read(path)
    // Over black, alpha 0.5 halves viridis's low end: one 56×56 block.
    XCTAssertEqual(Self.count(image, RGB(0x22, 0x01, 0x2A)), 56 * 56)
    // The colour bar's pure ends, one row each.
    XCTAssertGreaterThan(Self.count(image, ColorMap.viridis.color(at: 1)), 0)
    XCTAssertGreaterThan(Self.count(image, ColorMap.viridis.color(at: 0)), 0)
  }
}
