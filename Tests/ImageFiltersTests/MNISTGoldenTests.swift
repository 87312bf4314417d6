import Foundation
import ImageCodecs
import Tensors
import XCTest

@testable import ImageFilters

/// The seed's example against scipy: see Fixtures/make_mnist_golden.py.
final class MNISTGoldenTests: XCTestCase {
  /// `apply` without its batch buffers, typed like `applyReference`.
  static func fast(
    _ operation: FilterOperation, to image: Image, options: FilterOptions
  ) throws(FilterError) -> Image {
    try apply(operation, to: image, options: options)
  }

  private func fixture(_ name: String) throws -> [UInt8] {
    let url = try XCTUnwrap(
      Bundle.module.url(
        forResource: name, withExtension: "u8", subdirectory: "Fixtures"), "missing fixture \(name)"
    )
    return [UInt8](try Data(contentsOf: url))
  }

  func testBlurAndEdgesOfTrainingImageThreeMatchScipy() throws {
    let input = Image(
      width: 28, height: 28, layout: .gray,
      samples: try fixture("mnist-train-3-28x28"))
    for name in [BuiltinKernel.blur, .edges] {
      let expected = try fixture("mnist-train-3-\(name.rawValue)-26x26")
      for (path, run) in [("fast", Self.fast), ("reference", applyReference)] {
        let out = try run(
          try name.operation(), input, FilterOptions(padding: .valid, range: .clamp))
        XCTAssertEqual([out.width, out.height], [26, 26], "\(name) \(path)")
        XCTAssertEqual(out.samples8, expected, "\(name) \(path)")
      }
    }
  }

  /// Border semantics against numpy.pad: zero = 'constant', replicate = 'edge',
  /// reflect = 'reflect' (OpenCV BORDER_REFLECT_101), wrap = 'wrap'.
  func testBordersMatchNumpyPadModes() throws {
    let full = try fixture("mnist-train-3-28x28")
    let crop = (6..<22).flatMap { y in (6..<22).map { x in full[y * 28 + x] } }
    let input = Image(width: 16, height: 16, layout: .gray, samples: crop)
    for border in Border.allCases {
      let expected = try fixture("mnist-train-3-sobelx-\(border.rawValue)-16x16")
      let options = FilterOptions(
        dilation: AxisPair(2), padding: .symmetric(2), border: border, range: .abs)
      for (path, run) in [("fast", Self.fast), ("reference", applyReference)] {
        let out = try run(try BuiltinKernel.sobelX.operation(), input, options)
        XCTAssertEqual([out.width, out.height], [16, 16], "\(border) \(path)")
        XCTAssertEqual(out.samples8, expected, "\(border) \(path)")
      }
    }
  }
}
