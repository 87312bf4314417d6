import Foundation
import ImageCodecs
import Tensors
import XCTest

@testable import ImageFilters

/// The streaming pipeline against the whole-image path it replaces: the
/// same file in, byte for byte the same file out, and the same error for a
/// damaged file.
final class StreamingFilterTests: XCTestCase {
  private var folder: URL!

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "streaming-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: folder)
  }

  private struct Case: CustomStringConvertible {
    var image: Image
    var input: ImageFormat
    var output: ImageFormat
    var operation: FilterOperation
    var options: FilterOptions
    var gray: Bool
    var bandRows: Int?
    var description: String {
      "\(image.width)×\(image.height) \(image.layout) \(image.bitDepth) \(input.name)→"
        + "\(output.name) kernel \(operation.kernelRows)×\(operation.kernelCols) gray \(gray) "
        + "bands \(bandRows.map(String.init) ?? "auto") \(options)"
    }
  }

  private func randomCase(using rng: inout SeededGenerator) -> Case {
    let input: ImageFormat = Bool.random(using: &rng) ? .png : .jpeg
    let output: ImageFormat = Bool.random(using: &rng) ? .png : .jpeg
    let layout: Image.Layout =
      input == .jpeg
      ? [.gray, .rgb].randomElement(using: &rng)!
      : Image.Layout.allCases.randomElement(using: &rng)!
    let sixteen = input == .png && Int.random(in: 0..<3, using: &rng) == 0
    let width = Int.random(in: 1...70, using: &rng)
    let height = Int.random(in: 1...90, using: &rng)
    let count = width * height * layout.channels
    let image =
      sixteen
      ? Image(
        width: width, height: height, layout: layout,
        samples16: (0..<count).map { _ in UInt16.random(in: 0...65535, using: &rng) })
      : Image(
        width: width, height: height, layout: layout,
        samples: (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
    let rows = Int.random(in: 1...5, using: &rng)
    let cols = Int.random(in: 1...5, using: &rng)
    func weights() -> [Float] {
      (0..<(rows * cols)).map { _ in Float(Int.random(in: -3...3, using: &rng)) }
    }
    let operation: FilterOperation =
      Int.random(in: 0..<4, using: &rng) == 0
      ? .gradientMagnitude(
        x: Kernel(rows: rows, cols: cols, weights: weights()),
        y: Kernel(rows: rows, cols: cols, weights: weights()))
      : .kernel(Kernel(rows: rows, cols: cols, weights: weights()))
    let padding: Padding
    switch Int.random(in: 0..<3, using: &rng) {
    case 0: padding = .valid
    case 1: padding = .same
    default:
      padding = .explicit(
        top: Int.random(in: 0...6, using: &rng), bottom: Int.random(in: 0...6, using: &rng),
        left: Int.random(in: 0...3, using: &rng), right: Int.random(in: 0...3, using: &rng))
    }
    let options = FilterOptions(
      stride: AxisPair(
        x: Int.random(in: 1...3, using: &rng), y: Int.random(in: 1...3, using: &rng)),
      dilation: AxisPair(
        x: Int.random(in: 1...3, using: &rng), y: Int.random(in: 1...3, using: &rng)),
      padding: padding, border: Border.allCases.randomElement(using: &rng)!,
      range: [.clamp, .abs].randomElement(using: &rng)!,
      scale: [1, 0.5, 2].randomElement(using: &rng)!, bias: [0, 10].randomElement(using: &rng)!)
    return Case(
      image: image, input: input, output: output, operation: operation, options: options,
      gray: Bool.random(using: &rng),
      bandRows: Bool.random(using: &rng) ? Int.random(in: 1...7, using: &rng) : nil)
  }

  /// The whole-image path: read, convert, filter, encode.
  private func wholeImage(_ path: String, _ c: Case) throws -> [UInt8] {
    var image = try ImageFile.read(path)
    if c.gray { image = image.converted(to: image.layout.hasAlpha ? .grayAlpha : .gray) }
    let result = try apply(c.operation, to: image, options: c.options)
    return try ImageFile.encode(result, as: c.output, options: EncodeOptions())
  }

  /// The streaming path, or nil when it declines the case.
  private func streamed(_ path: String, _ c: Case) throws -> [UInt8]? {
    let reader = try ImageRowReader(path: path, options: .default, gray: c.gray)
    guard reader.wholeImageReason == nil else { return nil }
    let plan = try StreamingFilter(
      operation: c.operation, options: c.options, width: reader.width, height: reader.height,
      layout: reader.layout, bitDepth: reader.bitDepth, bandRows: c.bandRows)
    guard plan.wholeImageReason == nil else { return nil }
    let writer = try ImageRowWriter(
      format: c.output, width: plan.geometry.outputWidth, height: plan.geometry.outputHeight,
      layout: reader.layout, bitDepth: reader.bitDepth, options: EncodeOptions())
    var bytes: [UInt8] = []
    let outcome = try plan.run(from: reader, to: writer) { bytes += $0 }
    guard case .finished = outcome else { return nil }
    return bytes
  }

  private func write(_ c: Case, name: String) throws -> String {
    let path = folder.appendingPathComponent(name + (c.input == .png ? ".png" : ".jpg")).path
    try ImageFile.write(c.image, to: path)
    return path
  }

  func testStreamingWritesTheWholeImagePathsBytes() throws {
    var rng = SeededGenerator(seed: 2026_12_03)
    var streamedCount = 0
    for index in 0..<300 {
      let c = randomCase(using: &rng)
      let path = try write(c, name: "case\(index)")
      let expected: [UInt8]
      do {
        expected = try wholeImage(path, c)
      } catch let error as FilterError {
        // The kernel does not fit: the streaming plan refuses it the same way.
        XCTAssertThrowsError(try streamed(path, c), "\(c)") { streamingError in
          XCTAssertEqual(streamingError as? FilterError, error, "\(c)")
        }
        continue
      }
      guard let bytes = try streamed(path, c) else { continue }
      streamedCount += 1
      XCTAssertEqual(bytes, expected, "\(c)")
    }
    XCTAssertGreaterThan(streamedCount, 200)
  }

  /// Images taller than one automatic band (about 1 MiB), so the default
  /// plan takes several steps, with the sizes the CLI uses.
  func testLargeImagesStreamInSeveralBands() throws {
    var rng = SeededGenerator(seed: 41)
    for (layout, input, output) in [
      (Image.Layout.rgb, ImageFormat.jpeg, ImageFormat.jpeg), (.gray, .png, .png),
      (.rgba, .png, .jpeg), (.rgb, .jpeg, .png),
    ] {
      let width = layout == .gray ? 1400 : 600, height = 2500
      var samples = [UInt8](repeating: 0, count: width * height * layout.channels)
      for i in samples.indices {
        samples[i] = UInt8(truncatingIfNeeded: (i / 7) &+ Int.random(in: 0...40, using: &rng))
      }
      let c = Case(
        image: Image(width: width, height: height, layout: layout, samples: samples),
        input: input, output: output,
        operation: .gradientMagnitude(
          x: Kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
          y: Kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])),
        options: FilterOptions(padding: .same, border: .reflect), gray: false, bandRows: nil)
      let path = try write(c, name: "large-\(layout)")
      let plan = try StreamingFilter(
        operation: c.operation, options: c.options, width: width, height: height,
        layout: layout, bitDepth: .eight)
      XCTAssertGreaterThan(plan.bands, 2, "\(c)")
      XCTAssertLessThan(plan.ringRows, height, "\(c)")
      XCTAssertEqual(try streamed(path, c), try wholeImage(path, c), "\(c)")
    }
  }

  /// A file cut short: the streaming path fails with the error of
  /// `ImageFile.read`, after it has already encoded the first rows.
  func testTruncatedFilesFailAsTheWholeImagePathFails() throws {
    var rng = SeededGenerator(seed: 5)
    for input in [ImageFormat.png, .jpeg] {
      let width = 600, height = 500
      let samples = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      let c = Case(
        image: Image(width: width, height: height, layout: .rgb, samples: samples),
        input: input, output: .png, operation: .kernel(Kernel([[1, 2, 1]])),
        options: FilterOptions(), gray: false, bandRows: 16)
      let path = try write(c, name: "truncated")
      let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
      try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: path))
      var wholeError: CodecError?
      XCTAssertThrowsError(try ImageFile.read(path)) { wholeError = $0 as? CodecError }
      XCTAssertEqual(wholeError, .truncated(path, input))
      XCTAssertThrowsError(try streamed(path, c)) { error in
        XCTAssertEqual(error as? CodecError, wholeError, "\(input)")
      }
    }
  }

  /// What makes the plan decline: the reasons the CLI prints.
  func testWholeImageReasons() throws {
    let kernel = FilterOperation.kernel(Kernel([[1, 1, 1]]))
    let normalize = try StreamingFilter(
      operation: kernel, options: FilterOptions(range: .normalize), width: 10, height: 10,
      layout: .gray, bitDepth: .eight)
    XCTAssertNotNil(normalize.wholeImageReason)
    let tall = FilterOperation.kernel(Kernel(rows: 5, cols: 1, weights: [1, 1, 1, 1, 1]))
    let wrap = try StreamingFilter(
      operation: tall, options: FilterOptions(padding: .same, border: .wrap), width: 8000,
      height: 8000, layout: .rgb, bitDepth: .eight)
    XCTAssertNotNil(wrap.wholeImageReason, "wrap reads the far edge: the ring is the image")
    let plain = try StreamingFilter(
      operation: tall, options: FilterOptions(padding: .same, border: .reflect), width: 8000,
      height: 8000, layout: .rgb, bitDepth: .eight)
    XCTAssertNil(plain.wholeImageReason)
    XCTAssertLessThan(plain.memoryBytes, 32 << 20)
  }
}
