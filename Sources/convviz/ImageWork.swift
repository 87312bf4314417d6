import Files
import ImageFilters
import Dispatch
import ImageCodecs
import Tensors

/// One operation a batch command applies to every input: a filter kernel
/// or a pooling window, with the name its outputs carry.
struct ImageStep: Sendable {
  /// The output-name part: kernel or window, its parameters, then the run's options.
  var name: String
  /// The kernel file read, for the check that no output replaces it.
  var file: String?
  /// Where the window lands on an image (`Padding`'s formula); throws when
  /// it does not fit.
  var geometry: @Sendable (Image) throws(FilterError) -> FilterGeometry
  /// Scratch bytes the operation allocates besides its output.
  var scratchBytes: @Sendable (FilterGeometry, Image) -> Int
  var apply: @Sendable (Image) throws -> Image

  var fileStem: String? { file.map(OutputPaths.stem) }
}

/// What `filter` and `pool` do to one input: decode, apply each step,
/// encode and write; the lines to print come back for `OrderedReport`.
struct ImageWork: Sendable {
  let steps: [ImageStep]
  /// The `--timings` stage name of the steps: `filter`, `pool`.
  let stage: String
  let decodeOptions: DecodeOptions
  let encodeOptions: EncodeOptions
  let gray: Bool
  let timings: Bool
  let plan: OutputPlan
  let budget: MemoryBudget

  /// `index` is the input's place in `plan`.
  func process(_ source: InputImage, index: Int) -> [OrderedReport.Line] {
    var lines: [OrderedReport.Line] = []
    do {
      try process(source, index: index, into: &lines)
    } catch {
      lines.append(.error(CommandFailure(error).description))
    }
    return lines
  }

  private func process(
    _ source: InputImage, index: Int, into lines: inout [OrderedReport.Line]
  )
    throws
  {
    var clock = Stopwatch()
    var image = try source.load(options: decodeOptions)
    if gray { image = image.converted(to: image.layout.hasAlpha ? .grayAlpha : .gray) }
    timing("decode", clock.lap(), source.path, into: &lines)
    for (position, step) in steps.enumerated() {
      let geometry: FilterGeometry
      do {
        geometry = try step.geometry(image)
      } catch {
        throw CommandFailure("\(source.path): \(error)")
      }
      if !geometry.strideDividesEvenly {
        let dropped = geometry.droppedPixels
        lines.append(
          .warning(
            "\(source.path): stride \(geometry.stride) does not divide the padded size; the last "
              + "\(dropped.x) column(s) and \(dropped.y) row(s) are dropped (floor, as Keras does)")
        )
      }
      try checkOutput(geometry, of: image, step: step, source: source)
      _ = clock.lap()
      let result = try step.apply(image)
      let workTime = clock.lap()
      // Past the last step the source is not needed: let it go before
      // encoding, so that a huge image is held at most twice at once.
      if position == steps.count - 1 {
        image = Image(width: 0, height: 0, layout: .gray, samples: [])
      }
      let destination = plan.destinations[index][position]
      let shownDestination = destination == "-" ? "standard output" : destination
      if result.bitDepth == .sixteen && plan.format == .jpeg {
        lines.append(
          .note(
            "\(source.path) is 16-bit; \(shownDestination) is JPEG, which holds 8 bits a sample "
              + "(write PNG to keep 16 bits)"))
      }
      var encodeTime = 0.0
      try ImageFile.withEncoded(result, as: plan.format, options: encodeOptions) { bytes in
        encodeTime = clock.lap()
        if destination == "-" {
          try Terminal.writeStandardOutput(bytes)
        } else {
          try AtomicFile.write(bytes, to: destination)
        }
      }
      let writeTime = clock.lap()
      let what = "\(source.path), \(step.name)"
      timing(stage, workTime, what, into: &lines)
      timing("encode", encodeTime, what, into: &lines)
      timing("write", writeTime, what, into: &lines)
      let wrote = "wrote \(shownDestination) (\(result.width)×\(result.height), \(step.name))"
      // With -o - the image itself is on stdout: the line goes beside the
      // other messages.
      lines.append(destination == "-" ? .note(wrote) : .result(wrote))
    }
  }

  /// Refuses an output that the pixel limit would refuse as an input
  /// (`--padding 20000` on a tiny image), or that with the input, the
  /// encoded file and the step's scratch would not fit the memory
  /// budget, before it is allocated.
  private func checkOutput(
    _ g: FilterGeometry, of image: Image, step: ImageStep, source: InputImage
  ) throws {
    let (pixels, overflow) = g.outputWidth.multipliedReportingOverflow(by: g.outputHeight)
    let limit = decodeOptions.pixelLimit
    guard !overflow, pixels <= limit else {
      throw CommandFailure(
        "\(source.path): the \(step.name) output would be "
          + "\(g.outputWidth)×\(g.outputHeight) pixels, more than the limit of \(limit); "
          + "raise it with --max-pixels if you mean it")
    }
    let output = MemoryEstimate.array(
      of: UInt8.self, [pixels, image.channels, image.bitDepth == .eight ? 1 : 2])
    let estimate =
      CommandMemory.image(image) + output * 2
      + MemoryEstimate(bytes: step.scratchBytes(g, image))
    let what = "\(source.path): the \(step.name) output (\(g.outputWidth)×\(g.outputHeight))"
    do {
      try budget.check(estimate, for: what)
    } catch {
      throw CommandFailure(memory: error)
    }
  }

  /// With --timings: `timing filter 12.34 ms (photo.png, blur)`.
  private func timing(
    _ stage: String, _ milliseconds: Double, _ what: String, into lines: inout [OrderedReport.Line]
  ) {
    guard timings else { return }
    lines.append(.diagnostic("timing \(stage) \(TextFormat.fixed(milliseconds, 2)) ms (\(what))"))
  }
}

/// Wall-clock laps in milliseconds.
struct Stopwatch {
  private var last = DispatchTime.now().uptimeNanoseconds

  mutating func lap() -> Double {
    let now = DispatchTime.now().uptimeNanoseconds
    defer { last = now }
    return Double(now - last) / 1e6
  }
}
