import Datasets
import Foundation
import ImageCodecs
import XCTest

@testable import Tensors

/// Resizing (Tensors' `Resampling` and `ResizeMode`) and the one image→tensor
/// conversion (`PixelConversion`) that every command feeds models through.
final class ResizeTests: XCTestCase {
  /// A 7×5 plane: v(x, y) = ((37x + 11y) mod 17) / 16.
  private let width = 7
  private let height = 5
  private var plane: [Float] {
    var values: [Float] = []
    for y in 0..<height {
      for x in 0..<width {
        let v: Int = (x * 37 + y * 11) % 17
        values.append(Float(v) / 16)
      }
    }
    return values
  }

  /// Pillow 13's `Image.resize(size, Image.BILINEAR)` of the plane as a
  /// mode "F" image (float32), printed with %.9g by:
  ///
  ///     im = Image.new("F", (7, 5)); im.putdata(values)
  ///     np.array(im.resize((w, h), Image.BILINEAR), dtype=np.float32)
  private let pillow: [(width: Int, height: Int, values: [Float])] = [
    (3, 2, [0.434253246, 0.431818187, 0.499594152, 0.58116883, 0.482954532, 0.456777602]),
    (
      11, 9,
      [
        0, 0.0852272734, 0.204545453, 0.323863626, 0.443181813, 0.5625, 0.681818187, 0.801136374,
        0.920454562, 0.460227281, 0.0625, 0.229166672, 0.314393938, 0.401515156, 0.295454532,
        0.318181813, 0.4375, 0.556818187, 0.676136374, 0.795454562, 0.528409123, 0.291666657,
        0.611111104, 0.696338356, 0.729798019, 0.248106062, 0.109848484, 0.229166672, 0.348484844,
        0.467803031, 0.587121248, 0.642045498, 0.673611104, 0.520833313, 0.606060624, 0.671717167,
        0.415404022, 0.373737365, 0.493055552, 0.311868697, 0.259469688, 0.378787875, 0.498106062,
        0.583333313, 0.3125, 0.397727281, 0.517045438, 0.636363626, 0.755681813, 0.875,
        0.318181813, 0.0511363633, 0.170454547, 0.289772719, 0.375, 0.694444418, 0.511363626,
        0.308712125, 0.428030282, 0.547348499, 0.666666687, 0.485479802, 0.433080822, 0.55239898,
        0.349747479, 0.166666672, 0.958333313, 0.614267707, 0.218434334, 0.337752521, 0.414141417,
        0.458333343, 0.577651501, 0.696969688, 0.816287875, 0.420454562, 0.0763888881, 0.75,
        0.674242437, 0.600378752, 0.719696939, 0.581439376, 0.25, 0.369318187, 0.488636374,
        0.607954562, 0.534090936, 0.458333343, 0.625, 0.710227251, 0.829545438, 0.948863626,
        0.681818187, 0.125, 0.244318187, 0.363636374, 0.482954532, 0.602272749, 0.6875,
      ]
    ),
    (
      4, 8,
      [
        0.0982142836, 0.389999986, 0.735000014, 0.47023809, 0.376860112, 0.318906248,
        0.570937514, 0.549665213, 0.71484375, 0.257187515, 0.355156273, 0.628348231,
        0.512090802, 0.554062486, 0.306718767, 0.393973202, 0.467447937, 0.585312486,
        0.404375017, 0.317708313, 0.580915213, 0.350937486, 0.648124993, 0.399553567,
        0.665922642, 0.546875, 0.461562514, 0.509858608, 0.723214269, 0.717499971,
        0.297500014, 0.589285731,
      ]
    ),
    (
      7, 3,
      [
        0.294642866, 0.482142866, 0.214285716, 0.401785702, 0.589285731, 0.776785731,
        0.357142866, 0.548611104, 0.5, 0.451388896, 0.638888896, 0.236111104, 0.423611104,
        0.375, 0.785714269, 0.517857134, 0.705357134, 0.285714298, 0.473214298, 0.660714269,
        0.392857134,
      ]
    ),
  ]

  func testMatchesPillowBilinear() {
    for reference in pillow {
      let got = Resampling.resize(
        plane, channels: 1, height: height, width: width, toHeight: reference.height,
        toWidth: reference.width)
      XCTAssertEqual(got.count, reference.values.count)
      for (g, want) in zip(got, reference.values) {
        XCTAssertEqual(g, want, accuracy: 2e-7, "\(reference.width)×\(reference.height)")
      }
    }
  }

  /// The separable passes against a direct 2-D sum of the same triangle
  /// weights (no intermediate rounding), on random sizes both ways.
  func testSeparablePassesMatchADirectSum() {
    var generator = SeededGenerator(seed: 5)
    for _ in 0..<20 {
      let (h, w) = (1 + Int(generator.next() % 12), 1 + Int(generator.next() % 12))
      let (th, tw) = (1 + Int(generator.next() % 12), 1 + Int(generator.next() % 12))
      let planes = (0..<(2 * h * w)).map { _ in generator.nextUnitFloat() }
      let fast = Resampling.resize(
        planes, channels: 2, height: h, width: w, toHeight: th, toWidth: tw)
      let rows = Resampling.coefficients(inputSize: h, outputSize: th)
      let columns = Resampling.coefficients(inputSize: w, outputSize: tw)
      for c in 0..<2 {
        for y in 0..<th {
          for x in 0..<tw {
            var sum = 0.0
            for (i, wy) in rows.weights[y].enumerated() {
              for (j, wx) in columns.weights[x].enumerated() {
                let sy = rows.first[y] + i
                let sx = columns.first[x] + j
                sum += Double(planes[(c * h + sy) * w + sx]) * wy * wx
              }
            }
            XCTAssertEqual(fast[(c * th + y) * tw + x], Float(sum), accuracy: 1e-5)
          }
        }
      }
    }
  }

  func testWeightsAreNormalisedAndShrinkingAveragesEveryPixel() {
    let halves = Resampling.coefficients(inputSize: 8, outputSize: 4)
    for row in halves.weights { XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-12) }
    // Output 1 (centre 3.0 in input units) reads inputs 1…4 with the
    // triangle stretched to support 2: 1/8, 3/8, 3/8, 1/8.
    XCTAssertEqual(halves.first[1], 1)
    XCTAssertEqual(halves.weights[1], [0.125, 0.375, 0.375, 0.125])
  }

  func testModesPlaceTheScaledImage() throws {
    // 6 wide, 4 high, into 2×2.
    let source = (0..<24).map(Float.init)
    let stretch = try XCTUnwrap(
      ResizeMode.stretch.apply(source, channels: 1, height: 4, width: 6, toHeight: 2, toWidth: 2))
    XCTAssertEqual(
      stretch, Resampling.resize(source, channels: 1, height: 4, width: 6, toHeight: 2, toWidth: 2))
    // fill: the shorter side (4) becomes 2, so 3×2, then the centre 2 columns
    // (offset ⌊1/2⌋ = 0).
    let scaled = Resampling.resize(
      source, channels: 1, height: 4, width: 6, toHeight: 2, toWidth: 3)
    let fill = try XCTUnwrap(
      ResizeMode.fill.apply(source, channels: 1, height: 4, width: 6, toHeight: 2, toWidth: 2))
    XCTAssertEqual(fill, [scaled[0], scaled[1], scaled[3], scaled[4]])
    // fit: the longer side (6) becomes 2, so 2×1 (4/3 rounds to 1), in row 0
    // of the window (offset ⌊1/2⌋ = 0), the rest black.
    let small = Resampling.resize(source, channels: 1, height: 4, width: 6, toHeight: 1, toWidth: 2)
    let fit = try XCTUnwrap(
      ResizeMode.fit.apply(source, channels: 1, height: 4, width: 6, toHeight: 2, toWidth: 2))
    XCTAssertEqual(fit, [small[0], small[1], 0, 0])
    XCTAssertNil(
      ResizeMode.none.apply(source, channels: 1, height: 4, width: 6, toHeight: 2, toWidth: 2))
    for mode in ResizeMode.allCases {
      XCTAssertEqual(
        mode.apply(source, channels: 1, height: 4, width: 6, toHeight: 4, toWidth: 6), source,
        "\(mode) leaves an image of the right size alone")
    }
    // A tall image under fill: centred vertically, 10 high → 5 rows at offset 2.
    let tall = (0..<20).map(Float.init)
    let layout = try XCTUnwrap(
      ResizeMode.fill.layout(height: 10, width: 2, toHeight: 1, toWidth: 1))
    XCTAssertEqual([layout.height, layout.width, layout.top, layout.left], [5, 1, 2, 0])
    XCTAssertNotNil(
      ResizeMode.fill.apply(tall, channels: 1, height: 10, width: 2, toHeight: 1, toWidth: 1))
  }

  func testConversionUsesFloatLumaAndSixteenBits() {
    let image = Image(width: 2, height: 1, layout: .rgb, samples: [255, 0, 0, 10, 20, 30])
    let gray = PixelConversion.tensor(of: image, channels: 1)
    XCTAssertEqual(gray.shape, Shape(1, 1, 1, 2))
    XCTAssertEqual(gray.storage[0], 0.299, accuracy: 1e-7, "ITU-R 601 luma, not rounded to 8 bits")
    XCTAssertEqual(
      gray.storage[1], (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255, accuracy: 1e-7)
    let rgb = PixelConversion.tensor(of: image, channels: 3)
    XCTAssertEqual(
      rgb.storage, [1, Float(10) / 255, 0, Float(20) / 255, 0, Float(30) / 255], "planar CHW")
    let sixteen = Image(width: 1, height: 1, layout: .gray, samples16: [32768])
    XCTAssertEqual(
      PixelConversion.tensor(of: sixteen, channels: 3).storage,
      [Float](repeating: Float(32768) / 65535, count: 3), "16-bit samples keep their precision")
  }

  func testConversionResizesToTheModelInput() throws {
    let image = Image(
      width: 4, height: 2, layout: .gray, samples: [0, 0, 255, 255, 0, 0, 255, 255])
    let filled = try XCTUnwrap(
      PixelConversion.tensor(of: image, channels: 1, height: 2, width: 2, resize: .fill))
    XCTAssertEqual(filled.shape, Shape(1, 1, 2, 2))
    XCTAssertEqual(filled.storage, [0, 1, 0, 1], "the centre columns of the 4×2 image")
    XCTAssertNil(PixelConversion.tensor(of: image, channels: 1, height: 2, width: 2, resize: .none))
    let batch = Tensor(shape: Shape(2, 1, 2, 4), storage: Array(repeating: 0.5, count: 16))
    XCTAssertEqual(
      batch.resized(height: 3, width: 3, mode: .stretch)?.storage,
      Array(repeating: 0.5, count: 18), "a constant stays constant")
  }

  func testImageFolderOfMixedSizesIsResized() throws {
    let folder = try TemporaryFolder()
    try folder.makeFolder("a")
    try folder.makeFolder("b")
    try ImageFile.write(
      Image(width: 4, height: 4, layout: .gray, samples: [UInt8](repeating: 255, count: 16)),
      to: folder.path + "/a/0.png")
    try ImageFile.write(
      Image(width: 9, height: 3, layout: .rgb, samples: [UInt8](repeating: 0, count: 81)),
      to: folder.path + "/b/0.png")
    XCTAssertThrowsError(try DatasetSplits.load(folder.path, channels: 1, seed: 0))
    let size = SampleSize(height: 2, width: 2, resize: .fill)
    let splits = try DatasetSplits.load(folder.path, channels: 1, seed: 0, size: size)
    XCTAssertEqual(splits.train.images.shape, Shape(2, 1, 2, 2))
    let white = splits.train.labels.firstIndex(of: 0)!
    XCTAssertEqual(splits.train.images.samples(white..<(white + 1)).storage, [1, 1, 1, 1])
    // IDX-like data of another size is resized after loading.
    let mnist = try DatasetSplits.load(
      fixturePath("mnist5"), size: SampleSize(height: 14, width: 14, resize: .stretch))
    XCTAssertEqual(mnist.train.images.shape, Shape(5, 1, 14, 14))
  }
}
