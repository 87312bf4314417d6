import Foundation
import ImageCodecs
import Tensors
import XCTest
import _Runtime

@testable import ImageFilters

/// The streaming pipeline against the whole-image path it replaces: the
/// same file in, byte for byte the same file out, and the same error for a
/// damaged file; for filters (one pass, or two with `.normalize`) and for
/// pooling.
final class StreamingPipelineTests: XCTestCase {
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
    var step: StreamingStep
    var gray: Bool
    var bandRows: Int?
    var description: String {
      "\(image.width)×\(image.height) \(image.layout) \(image.bitDepth) \(input.name)→"
        + "\(output.name) gray \(gray) bands \(bandRows.map(String.init) ?? "auto") \(step)"
    }
  }

  private func randomCase(using rng: inout SeededGenerator) -> Case {
    let input = ImageFormat.allCases.randomElement(using: &rng)!
    let output = ImageFormat.allCases.randomElement(using: &rng)!
    let layout: Image.Layout =
      input == .jpeg
      ? [.gray, .rgb].randomElement(using: &rng)!
      : Image.Layout.allCases.randomElement(using: &rng)!
    let sixteen = input != .jpeg && Int.random(in: 0..<3, using: &rng) == 0
    let width = Int.random(in: 1...70, using: &rng)
    let height = Int.random(in: 1...90, using: &rng)
    let image = RandomInputs.image(
      width: width, height: height, layout: layout, sixteen: sixteen, using: &rng)
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
      range: RangeMode.allCases.randomElement(using: &rng)!,
      scale: [1, 0.5, 2].randomElement(using: &rng)!, bias: [0, 10].randomElement(using: &rng)!)
    return Case(
      image: image, input: input, output: output, step: .filter(operation, options),
      gray: Bool.random(using: &rng),
      bandRows: Bool.random(using: &rng) ? Int.random(in: 1...7, using: &rng) : nil)
  }

  /// The whole-image path: read, convert, filter or pool, encode.
  private func wholeImage(_ path: String, _ c: Case) throws -> [UInt8] {
    var image = try ImageFile.read(path)
    if c.gray { image = image.converted(to: image.layout.hasAlpha ? .grayAlpha : .gray) }
    let result: Image
    switch c.step {
    case .filter(let operation, let options):
      result = try apply(operation, to: image, options: options)
    case .pool(let mode, let options):
      result = try pool(image, mode: mode, options: options)
    }
    return try ImageFile.encode(result, as: c.output, options: EncodeOptions())
  }

  /// The streaming path, or nil when it declines the case.
  private func streamed(_ path: String, _ c: Case) throws -> [UInt8]? {
    let reader = try ImageRowReader(path: path, options: .default, gray: c.gray)
    guard reader.wholeImageReason == nil else { return nil }
    let plan = try StreamingPipeline(
      step: c.step, width: reader.width, height: reader.height, layout: reader.layout,
      bitDepth: reader.bitDepth, bandRows: c.bandRows)
    guard plan.wholeImageReason == nil else { return nil }
    let writer = try ImageRowWriter(
      format: c.output, width: plan.geometry.outputWidth, height: plan.geometry.outputHeight,
      layout: reader.layout, bitDepth: reader.bitDepth, options: EncodeOptions())
    var bytes: [UInt8] = []
    let outcome = try plan.run(
      from: reader, reopening: { try ImageRowReader(path: path, options: .default, gray: c.gray) },
      to: writer
    ) { bytes += $0 }
    guard case .finished = outcome else { return nil }
    return bytes
  }

  private func write(_ c: Case, name: String) throws -> String {
    let path = folder.appendingPathComponent(name + "." + c.input.fileExtension).path
    try ImageFile.write(c.image, to: path)
    return path
  }

  func testStreamingWritesTheWholeImagePathsBytes() throws {
    var rng = SeededGenerator(seed: 2026_12_03)
    var streamedCount = 0
    var normalized = 0
    defer { cvz_set_threads(0) }
    for index in 0..<300 {
      let c = randomCase(using: &rng)
      // One thread runs every task itself; three share two cores.
      cvz_set_threads(Int32(index % 3 + 1))
      guard let bytes = try compare(c, name: "case\(index)") else { continue }
      streamedCount += 1
      if case .filter(_, let options) = c.step, options.range == .normalize, !bytes.isEmpty {
        normalized += 1
      }
    }
    XCTAssertGreaterThan(streamedCount, 200)
    XCTAssertGreaterThan(normalized, 50, "normalized filters stream in two passes")
  }

  /// Writes `c`'s input, runs both paths and compares them: the same bytes,
  /// or the same error when the step does not fit the image. Returns the
  /// streamed bytes, empty when the step was refused, nil when the streaming
  /// path declined.
  @discardableResult
  private func compare(_ c: Case, name: String) throws -> [UInt8]? {
    let path = try write(c, name: name)
    let expected: [UInt8]
    do {
      expected = try wholeImage(path, c)
    } catch let error as FilterError {
      // The kernel or window does not fit: the streaming plan refuses it the same way.
      XCTAssertThrowsError(try streamed(path, c), "\(c)") { streamingError in
        XCTAssertEqual(streamingError as? FilterError, error, "\(c)")
      }
      return []
    }
    guard let bytes = try streamed(path, c) else { return nil }
    XCTAssertEqual(bytes, expected, "\(c)")
    return bytes
  }

  /// `-k identity` copies rows instead of filtering them (band by band from
  /// the ring here): a PNG through it comes back pixel for pixel.
  func testStreamedIdentityIsTheInput() throws {
    var rng = SeededGenerator(seed: 2026_12_04)
    let identity = try BuiltinKernel.identity.operation()
    for index in 0..<40 {
      var c = randomCase(using: &rng)
      c.input = .png
      c.output = .png
      c.gray = false
      c.step = .filter(identity, FilterOptions(padding: .same))
      let bytes = try XCTUnwrap(compare(c, name: "identity\(index)"), "\(c)")
      let decoded = try ImageFile.decode(bytes, name: "streamed")
      XCTAssertEqual(decoded, c.image, "\(c)")
    }
  }

  private func randomPoolCase(using rng: inout SeededGenerator) -> Case {
    var c = randomCase(using: &rng)
    let options = RandomInputs.poolOptions(using: &rng)
    c.step = .pool(PoolMode.allCases.randomElement(using: &rng)!, options)
    return c
  }

  func testStreamedPoolingWritesTheWholeImagePathsBytes() throws {
    var rng = SeededGenerator(seed: 1213)
    var streamedCount = 0
    var depths: Set<String> = []
    for index in 0..<200 {
      let c = randomPoolCase(using: &rng)
      guard let bytes = try compare(c, name: "pool\(index)"), !bytes.isEmpty else { continue }
      streamedCount += 1
      depths.insert("\(c.image.bitDepth) \(c.input.name)→\(c.output.name)")
    }
    XCTAssertGreaterThan(streamedCount, 150)
    XCTAssertEqual(
      depths.count, 15, "8-bit: 3 formats to 3; 16-bit: PNG and PNM to 3 formats: \(depths)")
  }

  /// Images taller than one automatic band (about 1 MiB), so the default
  /// plan takes several steps, with the sizes the CLI uses.
  func testLargeImagesStreamInSeveralBands() throws {
    var rng = SeededGenerator(seed: 41)
    for (layout, input, output, range) in [
      (Image.Layout.rgb, ImageFormat.jpeg, ImageFormat.jpeg, RangeMode.clamp),
      (.gray, .png, .png, .normalize), (.rgba, .png, .jpeg, .abs), (.rgb, .jpeg, .png, .normalize),
    ] {
      let width = layout == .gray ? 1400 : 600, height = 2500
      var samples = [UInt8](repeating: 0, count: width * height * layout.channels)
      for i in samples.indices {
        samples[i] = UInt8(truncatingIfNeeded: (i / 7) &+ Int.random(in: 0...40, using: &rng))
      }
      let c = Case(
        image: Image(width: width, height: height, layout: layout, samples: samples),
        input: input, output: output,
        step: .filter(
          .gradientMagnitude(
            x: Kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
            y: Kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])),
          FilterOptions(padding: .same, border: .reflect, range: range)),
        gray: false, bandRows: nil)
      let path = try write(c, name: "large-\(layout)")
      for step in [c.step, .pool(.average, PoolOptions(size: AxisPair(3), padding: .same))] {
        var c = c
        c.step = step
        let plan = try StreamingPipeline(
          step: step, width: width, height: height, layout: layout, bitDepth: .eight)
        XCTAssertGreaterThan(plan.bands, 2, "\(c)")
        XCTAssertLessThan(plan.ringRows, height, "\(c)")
        XCTAssertEqual(try streamed(path, c), try wholeImage(path, c), "\(c)")
      }
    }
  }

  /// A file cut short: the streaming path fails with the error of
  /// `ImageFile.read`, after it has already encoded the first rows (or, with
  /// two passes, in the first pass, before anything is encoded).
  func testTruncatedFilesFailAsTheWholeImagePathFails() throws {
    var rng = SeededGenerator(seed: 5)
    let steps: [StreamingStep] = [
      .filter(.kernel(Kernel([[1, 2, 1]])), FilterOptions()),
      .filter(.kernel(Kernel([[1, 2, 1]])), FilterOptions(range: .normalize)),
      .pool(.max, PoolOptions(size: AxisPair(2))),
    ]
    for input in [ImageFormat.png, .jpeg] {
      for step in steps {
        let width = 600, height = 500
        let samples = (0..<(width * height * 3)).map { _ in
          UInt8.random(in: 0...255, using: &rng)
        }
        let c = Case(
          image: Image(width: width, height: height, layout: .rgb, samples: samples),
          input: input, output: .png, step: step, gray: false, bandRows: 16)
        let path = try write(c, name: "truncated")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: path))
        var wholeError: CodecError?
        XCTAssertThrowsError(try ImageFile.read(path)) { wholeError = $0 as? CodecError }
        XCTAssertEqual(wholeError, .truncated(path, input))
        XCTAssertThrowsError(try streamed(path, c)) { error in
          XCTAssertEqual(error as? CodecError, wholeError, "\(input) \(step)")
        }
      }
    }
  }

  /// A file cut short while the encoder is mid-image: decoding runs ahead
  /// of the encoder on other threads, and the encoder has already handed
  /// bytes to the sink when the decoder runs out; the pass stops with the
  /// whole-image path's error, to both output formats, with one thread or
  /// several (the CLI's tests check that the destination is left as it was).
  func testTruncationWhileTheEncoderIsMidImage() throws {
    var rng = SeededGenerator(seed: 17)
    // Three of the PNG encoder's 1 MiB deflate bands.
    let width = 1200, height = 900
    let samples = (0..<(width * height * 3)).map { i in
      UInt8(truncatingIfNeeded: i / 5 &+ Int.random(in: 0...60, using: &rng))
    }
    let image = Image(width: width, height: height, layout: .rgb, samples: samples)
    defer { cvz_set_threads(0) }
    for input in [ImageFormat.png, .jpeg] {
      for output in [ImageFormat.jpeg, .png] {
        for threads in [1, 3] {
          cvz_set_threads(Int32(threads))
          let c = Case(
            image: image, input: input, output: output,
            step: .filter(.kernel(Kernel([[1, 1, 1], [1, -8, 1], [1, 1, 1]])), FilterOptions()),
            gray: false, bandRows: 8)
          let path = try write(c, name: "cut-\(threads)")
          let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
          try bytes.prefix(bytes.count * 3 / 5).write(to: URL(fileURLWithPath: path))
          var wholeError: CodecError?
          XCTAssertThrowsError(try ImageFile.read(path)) { wholeError = $0 as? CodecError }
          let reader = try ImageRowReader(path: path, options: .default, gray: false)
          let plan = try StreamingPipeline(
            step: c.step, width: width, height: height, layout: .rgb, bitDepth: .eight,
            bandRows: 8)
          let writer = try ImageRowWriter(
            format: output, width: plan.geometry.outputWidth,
            height: plan.geometry.outputHeight, layout: .rgb, bitDepth: .eight,
            options: EncodeOptions())
          var sunk = 0
          XCTAssertThrowsError(try plan.run(from: reader, to: writer) { sunk += $0.count }) {
            XCTAssertEqual($0 as? CodecError, wholeError, "\(c) threads \(threads)")
          }
          // Decoding runs at most a few bands of 8 rows ahead of the encoder,
          // which has written about half of the rows. (The PNG encoder's
          // bytes come a 1 MiB deflate band at a time, from any thread.)
          if output == .jpeg {
            XCTAssertGreaterThan(sunk, 20_000, "mid-image: \(c) threads \(threads)")
          }
        }
      }
    }
  }

  /// The second pass of a normalized filter reads the file again; a file
  /// replaced by another image meanwhile is refused, not half-filtered.
  func testAFileReplacedBetweenThePassesIsRefused() throws {
    let first = Image(
      width: 30, height: 20, layout: .gray, samples: (0..<600).map { UInt8($0 % 256) })
    let other = Image(
      width: 20, height: 30, layout: .gray, samples: [UInt8](repeating: 9, count: 600))
    let path = folder.appendingPathComponent("first.png").path
    let otherPath = folder.appendingPathComponent("other.png").path
    try ImageFile.write(first, to: path)
    try ImageFile.write(other, to: otherPath)
    let plan = try StreamingPipeline(
      step: .filter(.kernel(Kernel([[1, 1]])), FilterOptions(range: .normalize)), width: 30,
      height: 20, layout: .gray, bitDepth: .eight)
    XCTAssertEqual(plan.passes, 2)
    let writer = try ImageRowWriter(
      format: .png, width: 29, height: 20, layout: .gray, bitDepth: .eight,
      options: EncodeOptions())
    var written = 0
    XCTAssertThrowsError(
      try plan.run(
        from: try ImageRowReader(path: path, options: .default, gray: false),
        reopening: { try ImageRowReader(path: otherPath, options: .default, gray: false) },
        to: writer
      ) { written += $0.count }
    ) { error in
      XCTAssertEqual(error as? FilterError, .inputChanged(path: otherPath))
    }
    XCTAssertEqual(written, 0, "nothing is encoded before the second pass")
  }

  /// What makes the plan decline or take two passes, and the memory it
  /// plans: a few MiB whatever the image size.
  func testWholeImageReasonsPassesAndMemory() throws {
    let kernel = FilterOperation.kernel(Kernel([[1, 1, 1]]))
    let normalize = try StreamingPipeline(
      step: .filter(kernel, FilterOptions(range: .normalize)), width: 10, height: 10,
      layout: .gray, bitDepth: .eight)
    XCTAssertNil(normalize.wholeImageReason)
    XCTAssertEqual(normalize.passes, 2)
    let tall = FilterOperation.kernel(Kernel(rows: 5, cols: 1, weights: [1, 1, 1, 1, 1]))
    let wrap = try StreamingPipeline(
      step: .filter(tall, FilterOptions(padding: .same, border: .wrap)), width: 8000,
      height: 8000, layout: .rgb, bitDepth: .eight)
    XCTAssertNotNil(wrap.wholeImageReason, "wrap reads the far edge: the ring is the image")
    let plain = try StreamingPipeline(
      step: .filter(tall, FilterOptions(padding: .same, border: .reflect)), width: 8000,
      height: 8000, layout: .rgb, bitDepth: .eight)
    XCTAssertNil(plain.wholeImageReason)
    XCTAssertEqual(plain.passes, 1)
    XCTAssertLessThan(plain.memoryBytes, 32 << 20)
    for depth in [Image.BitDepth.eight, .sixteen] {
      let pooled = try StreamingPipeline(
        step: .pool(.max, PoolOptions(size: AxisPair(4))), width: 16384, height: 16384,
        layout: .rgba, bitDepth: depth)
      XCTAssertNil(pooled.wholeImageReason)
      XCTAssertLessThan(pooled.memoryBytes, 16 << 20, "\(depth)")
    }
  }
}
