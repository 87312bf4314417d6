import Engine
import ImageCodecs
import Tensors
import XCTest
import _Runtime

@testable import ImageFilters

/// `pool` (the C loops) against `poolReference`, a case worked by hand, and
/// both against the Engine's `Pooling2D` layers on the same data.
final class PoolTests: XCTestCase {
  private func randomImage(
    width: Int, height: Int, sixteen: Bool, using rng: inout SeededGenerator
  ) -> Image {
    let layout = Image.Layout.allCases.randomElement(using: &rng)!
    return RandomInputs.image(
      width: width, height: height, layout: layout, sixteen: sixteen, using: &rng)
  }

  func testHandWorkedTwoByTwo() throws {
    // 4×4 gray; 2×2 windows at stride 2 hold (1,2,5,6) (3,4,7,8) (9,10,13,14) (11,12,15,255).
    let image = Image(
      width: 4, height: 4, layout: .gray,
      samples: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255])
    let options = PoolOptions(size: AxisPair(2))
    XCTAssertEqual(try pool(image, mode: .max, options: options).samples8, [6, 8, 14, 255])
    // Means 3.5, 5.5, 11.5, 73.25: ties go to the even neighbour.
    XCTAssertEqual(try pool(image, mode: .average, options: options).samples8, [4, 6, 12, 73])
    // sqrt((1+4+25+36)/4) = 4.06; sqrt((121+144+225+65025)/4) = 127.98.
    XCTAssertEqual(try pool(image, mode: .l2, options: options).samples8[0], 4)
    XCTAssertEqual(try pool(image, mode: .l2, options: options).samples8[3], 128)
  }

  func testSamePaddingCountsOnlyRealSamples() throws {
    // 3×1, window 2, stride 2, same: O = 2, one padded cell after; the last
    // window holds the single sample 9, so its mean is 9, not 4.5.
    let image = Image(width: 3, height: 1, layout: .gray, samples: [1, 3, 9])
    let options = PoolOptions(size: AxisPair(x: 2, y: 1), padding: .same)
    XCTAssertEqual(try pool(image, mode: .average, options: options).samples8, [2, 9])
    XCTAssertEqual(try pool(image, mode: .l2, options: options).samples8, [2, 9])
  }

  func testFastPathMatchesReference() throws {
    var rng = SeededGenerator(seed: 13)
    for _ in 0..<300 {
      let image = randomImage(
        width: Int.random(in: 1...19, using: &rng), height: Int.random(in: 1...15, using: &rng),
        sixteen: Bool.random(using: &rng), using: &rng)
      let options = RandomInputs.poolOptions(using: &rng)
      for mode in PoolMode.allCases {
        do {
          let reference = try poolReference(image, mode: mode, options: options)
          XCTAssertEqual(
            try pool(image, mode: mode, options: options), reference, "\(mode) \(options)")
        } catch {
          XCTAssertThrowsError(try pool(image, mode: mode, options: options))
        }
      }
    }
  }

  /// Large enough for several bands on several threads.
  func testBandsOnThreadsMatchReference() throws {
    var rng = SeededGenerator(seed: 7)
    let image = randomImage(width: 301, height: 207, sixteen: false, using: &rng)
    let options = PoolOptions(size: AxisPair(3), stride: AxisPair(2), padding: .same)
    let saved = cvz_threads()
    defer { cvz_set_threads(saved) }
    cvz_set_threads(3)
    for mode in PoolMode.allCases {
      XCTAssertEqual(
        try pool(image, mode: mode, options: options),
        try poolReference(image, mode: mode, options: options))
    }
  }

  func testOutputSizeIsPaddingsFormula() throws {
    let image = Image(
      width: 10, height: 7, layout: .rgb, samples: [UInt8](repeating: 0, count: 210))
    let valid = try pool(image, mode: .max, options: PoolOptions(size: AxisPair(3)))
    XCTAssertEqual([valid.width, valid.height], [3, 2], "⌊(10−3)/3⌋+1, ⌊(7−3)/3⌋+1")
    let same = try pool(image, mode: .max, options: PoolOptions(size: AxisPair(3), padding: .same))
    XCTAssertEqual([same.width, same.height], [4, 3], "⌈10/3⌉, ⌈7/3⌉")
    XCTAssertEqual(same.layout, .rgb)
  }

  func testRefusals() {
    let image = Image(width: 2, height: 2, layout: .gray, samples: [1, 2, 3, 4])
    XCTAssertThrowsError(try pool(image, mode: .max, options: PoolOptions(size: AxisPair(3)))) {
      XCTAssertEqual(
        $0 as? FilterError,
        .poolLargerThanImage(windowWidth: 3, windowHeight: 3, paddedWidth: 2, paddedHeight: 2))
    }
    XCTAssertThrowsError(try pool(image, mode: .max, options: PoolOptions(size: AxisPair(0)))) {
      XCTAssertEqual($0 as? FilterError, .invalidPoolSize(AxisPair(0)))
    }
    XCTAssertThrowsError(
      try pool(
        image, mode: .average, options: PoolOptions(size: AxisPair(2), padding: .symmetric(2)))
    ) {
      XCTAssertEqual(
        $0 as? FilterError,
        .poolPaddingTooLarge(top: 2, bottom: 2, left: 2, right: 2, window: AxisPair(2)))
    }
    XCTAssertThrowsError(
      try poolReference(
        image, mode: .average, options: PoolOptions(size: AxisPair(2), padding: .symmetric(2))))
    // With same padding, a window larger than the image still has an
    // output: ⌈2/3⌉ = 1 cell, the max of all four samples.
    XCTAssertEqual(
      try pool(image, mode: .max, options: PoolOptions(size: AxisPair(3), padding: .same))
        .samples8, [4])
  }

  // MARK: Against the Engine

  /// The image as an (1, C, H, W) tensor of its sample values.
  private func tensor(_ image: Image) -> Tensor {
    let c = image.channels
    let values: [Float] =
      image.bitDepth == .eight ? image.samples8.map(Float.init) : image.samples16.map(Float.init)
    var planar = [Float](repeating: 0, count: values.count)
    for i in 0..<image.pixelCount {
      for ch in 0..<c { planar[ch * image.pixelCount + i] = values[i * c + ch] }
    }
    return Tensor(shape: Shape(1, c, image.height, image.width), storage: planar)
  }

  /// Every output sample equals the Engine's Float result rounded to the
  /// nearest integer (ties to even), except where that Float lies within
  /// float error of a rounding tie, where it may be either neighbour.
  func testMatchesEnginePoolingLayers() throws {
    var rng = SeededGenerator(seed: 2026)
    let reductions: [(PoolMode, Pooling2D.Reduction)] = [
      (.max, .max), (.average, .average), (.l2, .l2),
    ]
    var compared = 0
    for trial in 0..<60 {
      let image = randomImage(
        width: Int.random(in: 2...17, using: &rng), height: Int.random(in: 2...13, using: &rng),
        sixteen: trial % 2 == 1, using: &rng)
      let options = RandomInputs.poolOptions(using: &rng)
      guard let g = try? options.geometry(for: image) else { continue }
      let input = tensor(image)
      for (mode, reduction) in reductions {
        var layer = Pooling2D(
          reduction, poolSize: (options.size.y, options.size.x),
          strides: (options.stride.y, options.stride.x), padding: options.padding)
        let expected = try layer.forward(input, mode: .inference)
        let ours = tensor(try pool(image, mode: mode, options: options))
        XCTAssertEqual(expected.shape, Shape(1, image.channels, g.outputHeight, g.outputWidth))
        XCTAssertEqual(ours.shape, expected.shape)
        for (value, float) in zip(ours.storage, expected.storage) {
          let rounded = float.rounded(.toNearestOrEven)
          let nearTie = abs(abs(float - float.rounded(.down)) - 0.5) < 1e-3 * max(1, float / 256)
          if nearTie {
            XCTAssertLessThanOrEqual(abs(value - float), 0.5 + 1e-2, "\(mode) \(options)")
          } else {
            XCTAssertEqual(value, rounded, "\(mode) \(options) engine \(float)")
          }
          compared += 1
        }
      }
    }
    XCTAssertGreaterThan(compared, 1000)
  }
}
