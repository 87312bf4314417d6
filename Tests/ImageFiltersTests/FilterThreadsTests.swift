import ImageCodecs
import XCTest
import _Runtime

@testable import ImageFilters

/// The filter on the `_Runtime` pool: the thread count changes no pixel,
/// and scratch memory that cannot be had is a typed error, not a crash.
final class FilterThreadsTests: XCTestCase {
  override func tearDown() {
    cvz_set_threads(0)
    cvz_set_allocation_limit(0)
  }

  /// Large enough (work ≥ 2^18) to be cut into bands.
  private func photo() -> Image {
    var generator = SystemRandomNumberGenerator()
    let (width, height) = (301, 157)
    return Image(
      width: width, height: height, layout: .rgba,
      samples: (0..<(width * height * 4)).map { _ in UInt8.random(in: 0...255, using: &generator) })
  }

  func testThreadCountChangesNoPixel() throws {
    let image = photo()
    let cases: [(FilterOperation, FilterOptions)] = [
      (try BuiltinKernel.sobel.operation(), FilterOptions(padding: .same, border: .reflect)),
      (try BuiltinKernel.edges.operation(), FilterOptions(range: .normalize)),
      (try BuiltinKernel.gaussian.operation(sigma: 2), FilterOptions(stride: AxisPair(2))),
    ]
    for (operation, options) in cases {
      cvz_set_threads(1)
      let one = try apply(operation, to: image, options: options)
      for threads: Int32 in [2, 3, 5] {
        cvz_set_threads(threads)
        XCTAssertEqual(
          try apply(operation, to: image, options: options), one, "\(operation), \(threads) threads"
        )
      }
    }
  }

  func testScratchThatCannotBeAllocatedIsOutOfMemory() throws {
    let operation = try BuiltinKernel.blur.operation()
    for (image, threads) in [
      (photo(), Int32(3)),
      (Image(width: 5, height: 4, layout: .gray, samples: Array(repeating: 9, count: 20)), 1),
    ] {
      for range in [RangeMode.clamp, .normalize] {
        let options = FilterOptions(padding: .same, range: range)
        let g = try FilterGeometry(operation: operation, image: image, options: options)
        let scratch = scratchBytesPerBand(
          geometry: g, colourChannels: image.layout.hasAlpha ? image.channels - 1 : image.channels)
        cvz_set_threads(threads)
        cvz_set_allocation_limit(scratch - 1)
        XCTAssertThrowsError(try apply(operation, to: image, options: options)) { error in
          XCTAssertEqual(error as? FilterError, .outOfMemory(bytes: scratch), "\(range)")
        }
        cvz_set_allocation_limit(scratch)
        XCTAssertNoThrow(try apply(operation, to: image, options: options), "\(range)")
      }
    }
  }
}
