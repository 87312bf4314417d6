import ImageCodecs
import Tensors
import XCTest

@testable import ImageFilters

/// `apply` (the C fast path) against `applyReference` on random cases.
final class FastPathTests: XCTestCase {
  private struct Case: CustomStringConvertible {
    var image: Image
    var operation: FilterOperation
    var options: FilterOptions
    var description: String {
      "\(image.width)×\(image.height) \(image.layout) \(image.bitDepth) kernel "
        + "\(operation.kernelRows)×\(operation.kernelCols) \(options)"
    }
  }

  /// `widths` beyond 1024 samples make the C code split rows into several
  /// column chunks; the default stays small so the reference is quick.
  private func randomCase(
    integerWeights: Bool, widths: ClosedRange<Int> = 1...23, heights: ClosedRange<Int> = 1...17,
    using rng: inout some RandomNumberGenerator
  ) -> Case {
    let layout = Image.Layout.allCases.randomElement(using: &rng)!
    let width = Int.random(in: widths, using: &rng)
    let height = Int.random(in: heights, using: &rng)
    let sixteen = Bool.random(using: &rng)
    let image = RandomInputs.image(
      width: width, height: height, layout: layout, sixteen: sixteen, using: &rng)
    let rows = Int.random(in: 1...5, using: &rng)
    let cols = Int.random(in: 1...5, using: &rng)
    func weights() -> [Float] {
      (0..<(rows * cols)).map { _ in
        integerWeights
          ? Float(Int.random(in: -3...3, using: &rng))
          : Float.random(in: -1...1, using: &rng)
      }
    }
    var operation = FilterOperation.kernel(Kernel(rows: rows, cols: cols, weights: weights()))
    if Int.random(in: 0..<4, using: &rng) == 0 {
      // A rank-1 kernel, to take the separable path.
      let column = (0..<rows).map { _ in Float(Int.random(in: -2...2, using: &rng)) }
      let row = (0..<cols).map { _ in Float(Int.random(in: -2...2, using: &rng)) }
      operation = .kernel(
        Kernel(
          rows: rows, cols: cols,
          weights: column.flatMap { c in row.map { c * $0 } }))
    } else if Int.random(in: 0..<5, using: &rng) == 0 {
      operation = .gradientMagnitude(
        x: Kernel(rows: rows, cols: cols, weights: weights()),
        y: Kernel(rows: rows, cols: cols, weights: weights()))
    }
    let padding: Padding = [
      .valid, .same,
      .explicit(
        top: Int.random(in: 0...4, using: &rng), bottom: Int.random(in: 0...4, using: &rng),
        left: Int.random(in: 0...4, using: &rng), right: Int.random(in: 0...4, using: &rng)),
    ].randomElement(using: &rng)!
    let options = FilterOptions(
      stride: AxisPair(
        x: Int.random(in: 1...3, using: &rng), y: Int.random(in: 1...3, using: &rng)),
      dilation: AxisPair(
        x: Int.random(in: 1...2, using: &rng), y: Int.random(in: 1...2, using: &rng)),
      padding: padding, border: Border.allCases.randomElement(using: &rng)!,
      range: RangeMode.allCases.randomElement(using: &rng)!,
      scale: integerWeights ? 1 : Float.random(in: 0.5...2, using: &rng),
      bias: integerWeights ? 0 : Float.random(in: -20...20, using: &rng))
    return Case(image: image, operation: operation, options: options)
  }

  private func samples(_ image: Image) -> [Int] {
    image.bitDepth == .eight ? image.samples8.map(Int.init) : image.samples16.map(Int.init)
  }

  /// Integer weights make every sum exact in Float, so both paths must agree
  /// bit for bit (normalize and magnitude aside, which divide or take roots).
  func testMatchesReferenceExactlyWithIntegerWeights() throws {
    var rng = SystemRandomNumberGenerator()
    var checked = 0
    for _ in 0..<400 {
      let c = randomCase(integerWeights: true, using: &rng)
      guard let expected = try? applyReference(c.operation, to: c.image, options: c.options) else {
        XCTAssertThrowsError(try apply(c.operation, to: c.image, options: c.options), "\(c)")
        continue
      }
      for baselineOnly in [false, true] {
        let got = try apply(
          c.operation, to: c.image, options: c.options, baselineOnly: baselineOnly)
        let exact = c.options.range != .normalize && c.operation.kernels.count == 1
        if exact {
          XCTAssertEqual(got, expected, "baseline only: \(baselineOnly), \(c)")
        } else {
          assertClose(got, expected, "baseline only: \(baselineOnly), \(c)")
        }
      }
      checked += 1
    }
    XCTAssertGreaterThan(checked, 200, "most random cases should fit")
  }

  /// Float weights: the order of additions differs, so a sample may differ by
  /// one where the exact value is within float error of a rounding tie.
  func testMatchesReferenceWithinOneWithFloatWeights() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<300 {
      let c = randomCase(integerWeights: false, using: &rng)
      guard let expected = try? applyReference(c.operation, to: c.image, options: c.options) else {
        continue
      }
      assertClose(try apply(c.operation, to: c.image, options: c.options), expected, "\(c)")
    }
  }

  func testRowsWiderThanOneColumnChunk() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<12 {
      let c = randomCase(integerWeights: true, widths: 1030...1300, heights: 2...6, using: &rng)
      guard let expected = try? applyReference(c.operation, to: c.image, options: c.options) else {
        continue
      }
      for baselineOnly in [false, true] {
        assertClose(
          try apply(c.operation, to: c.image, options: c.options, baselineOnly: baselineOnly),
          expected, "baseline only: \(baselineOnly), \(c)")
      }
    }
  }

  /// Dilations that span more than 2·rows + 16 input rows switch the C code
  /// from a ring over the span to one slot per kernel row.
  func testLargeVerticalDilation() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<20 {
      var c = randomCase(integerWeights: true, widths: 1...12, heights: 60...90, using: &rng)
      c.options.dilation = AxisPair(x: 1, y: Int.random(in: 10...19, using: &rng))
      c.options.range = .clamp
      guard case .kernel = c.operation, c.operation.kernelRows >= 3,
        let expected = try? applyReference(c.operation, to: c.image, options: c.options)
      else { continue }
      for baselineOnly in [false, true] {
        XCTAssertEqual(
          try apply(c.operation, to: c.image, options: c.options, baselineOnly: baselineOnly),
          expected, "\(c)")
      }
    }
  }

  /// Kernels with one non-zero weight: when it is 1, lands on the output
  /// pixel itself (padding equal to its offset) and nothing else changes a
  /// sample, the C code copies rows instead of filtering; every other
  /// one-hot kernel (a shift, a weight of 2, a stride, a bias) still filters.
  /// Both must be the reference's output, and the copies the input.
  func testOneHotKernelsCopyOnlyWhenTheOutputIsTheInput() throws {
    var rng = SeededGenerator(seed: 1304)
    var copies = 0
    var others = 0
    for _ in 0..<300 {
      var c = randomCase(integerWeights: true, using: &rng)
      let rows = Int.random(in: 1...5, using: &rng)
      let cols = Int.random(in: 1...5, using: &rng)
      let tap = (
        row: Int.random(in: 0..<rows, using: &rng), col: Int.random(in: 0..<cols, using: &rng)
      )
      var weights = [Float](repeating: 0, count: rows * cols)
      weights[tap.row * cols + tap.col] = Int.random(in: 0..<4, using: &rng) == 0 ? 2 : 1
      c.operation = .kernel(Kernel(rows: rows, cols: cols, weights: weights))
      let dilation = c.options.dilation
      switch Int.random(in: 0..<3, using: &rng) {
      case 0:
        // Same size out, the tap mostly off the output pixel: a shift.
        c.options.padding = .same
        c.options.stride = AxisPair(1)
      case 1:
        // The tap on the output pixel: padding equal to its offset.
        c.options.padding = .explicit(
          top: tap.row * dilation.y, bottom: (rows - 1 - tap.row) * dilation.y,
          left: tap.col * dilation.x, right: (cols - 1 - tap.col) * dilation.x)
        c.options.stride =
          Int.random(in: 0..<4, using: &rng) == 0 ? AxisPair(x: 1, y: 2) : AxisPair(1)
        c.options.scale = 1
        c.options.bias = Int.random(in: 0..<4, using: &rng) == 0 ? 1 : 0
      default: break
      }
      guard let expected = try? applyReference(c.operation, to: c.image, options: c.options) else {
        continue
      }
      let got = try apply(c.operation, to: c.image, options: c.options)
      XCTAssertEqual(got, expected, "\(c)")
      if got == c.image && c.options.range != .normalize {
        copies += 1
      } else {
        others += 1
      }
    }
    XCTAssertGreaterThan(copies, 20, "some cases are copies")
    XCTAssertGreaterThan(others, 100, "most cases still filter")
  }

  func testWideImageCrossesBandsAndVectorBlocks() throws {
    var rng = SystemRandomNumberGenerator()
    let (width, height) = (700, 13)
    let image = Image(
      width: width, height: height, layout: .rgb,
      samples: (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) })
    for op in [
      try BuiltinKernel.blur.operation(), try BuiltinKernel.edges.operation(),
      try BuiltinKernel.sobel.operation(), try BuiltinKernel.gaussian.operation(sigma: 1),
    ] {
      for border in Border.allCases {
        let options = FilterOptions(padding: .same, border: border)
        assertClose(
          try apply(op, to: image, options: options),
          try applyReference(op, to: image, options: options), "\(op) \(border)")
      }
    }
  }

  /// Issue 5: filtering a 16384² RGB image must fit in 3× the image's memory,
  /// input and output taking 2×. Scratch is per band, not per image.
  func testScratchMemoryIsAFewRowsNotAnImage() throws {
    let side = 16384
    let imageBytes = side * side * 3
    for (op, options) in [
      (try BuiltinKernel.blur.operation(), FilterOptions(padding: .same, border: .reflect)),
      (try BuiltinKernel.sobel.operation(), FilterOptions(padding: .same)),
      (try BuiltinKernel.gaussian.operation(sigma: 5), FilterOptions(dilation: AxisPair(2))),
      (try BuiltinKernel.edges.operation(), FilterOptions(dilation: AxisPair(4000))),
    ] {
      let g = try FilterGeometry(
        inputWidth: side, inputHeight: side, kernelRows: op.kernelRows,
        kernelCols: op.kernelCols, options: options)
      let perBand = scratchBytesPerBand(geometry: g, colourChannels: 3)
      let rowBytes = side * 3 * MemoryLayout<Float>.size
      XCTAssertLessThanOrEqual(perBand, (op.kernelRows * 2 + 18) * rowBytes + (1 << 16))
      XCTAssertLessThan(perBand * 64, imageBytes, "even 64 bands at once stay far below 1×")
    }
  }

  private func assertClose(
    _ got: Image, _ expected: Image, _ message: String,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(
      [got.width, got.height], [expected.width, expected.height], message,
      file: file, line: line)
    XCTAssertEqual(got.layout, expected.layout, file: file, line: line)
    XCTAssertEqual(got.bitDepth, expected.bitDepth, file: file, line: line)
    let a = samples(got)
    let b = samples(expected)
    guard a.count == b.count else { return XCTFail(message, file: file, line: line) }
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, 1, message, file: file, line: line)
    if got.layout.hasAlpha {
      let ch = got.channels
      let alphaA = stride(from: ch - 1, to: a.count, by: ch).map { a[$0] }
      let alphaB = stride(from: ch - 1, to: b.count, by: ch).map { b[$0] }
      XCTAssertEqual(
        alphaA, alphaB, "alpha must be copied exactly: \(message)", file: file, line: line)
    }
  }
}
