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
  /// Applies the step; the output's samples may come from `buffers`.
  var apply: @Sendable (Image, SampleBuffers?) throws -> Image
  /// The streaming plan of the step for an image of this size, layout and
  /// depth (nil: the step works on whole images only).
  var stream:
    (@Sendable (Int, Int, Image.Layout, Image.BitDepth) throws(FilterError) -> StreamingPipeline)? =
      nil

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
  /// Sample arrays of finished images, for the whole-image path's next
  /// decode and step output of the same size.
  let buffers: SampleBuffers

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
    // Decoded on the first step that needs the whole image, then kept for the rest.
    var decoded: Image?
    for (position, step) in steps.enumerated() {
      let what = "\(source.path), \(step.name)"
      let reason: String
      switch try stream(source, step: step, index: index, position: position, into: &lines) {
      case nil: continue
      case let why?: reason = why
      }
      timing("path", nil, "whole-image: \(reason)", what, into: &lines)
      _ = clock.lap()
      var image: Image
      if let decoded {
        image = decoded
      } else {
        var options = decodeOptions
        options.buffers = buffers
        image = try source.load(options: options)
        if gray { image = image.converted(to: image.layout.hasAlpha ? .grayAlpha : .gray) }
        timing("decode", clock.lap(), nil, source.path, into: &lines)
      }
      // Past the last step the source is not needed: let it go before
      // encoding, so that a huge image is held at most twice at once.
      decoded = position == steps.count - 1 ? nil : image
      let geometry: FilterGeometry
      do {
        geometry = try step.geometry(image)
      } catch {
        throw CommandFailure("\(source.path): \(error)")
      }
      lines += strideWarning(geometry, source)
      try checkOutput(geometry, of: image, step: step, source: source)
      _ = clock.lap()
      let result = try step.apply(image, buffers)
      let workTime = clock.lap()
      if decoded == nil { buffers.recycle(image) }
      image = Image(width: 0, height: 0, layout: .gray, samples: [])
      let destination = plan.destinations[index][position]
      let shownDestination = destination == "-" ? "standard output" : destination
      lines += depthNote(result.bitDepth, source, shownDestination)
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
      timing(stage, workTime, nil, what, into: &lines)
      timing("encode", encodeTime, nil, what, into: &lines)
      timing("write", writeTime, nil, what, into: &lines)
      let wrote = "wrote \(shownDestination) (\(result.width)×\(result.height), \(step.name))"
      // With -o - the image itself is on stdout: the line goes beside the
      // other messages.
      lines.append(destination == "-" ? .note(wrote) : .result(wrote))
      buffers.recycle(result)
    }
  }

  /// Runs `step` on `source` as one streaming pipeline (decode → filter →
  /// encode over bands of rows, written to a temporary file that replaces
  /// the destination at the end; with `-o -`, the encoded bytes collect in
  /// memory and go to standard output once the input has decoded without
  /// error, so a damaged file writes nothing), or returns why it needs the
  /// whole image.
  /// Whatever the whole-image path would refuse before decoding (a bad
  /// header, a kernel that does not fit, the output limits, an unwritable
  /// destination) also sends it there, so that refusals read the same.
  private func stream(
    _ source: InputImage, step: ImageStep, index: Int, position: Int,
    into lines: inout [OrderedReport.Line]
  ) throws -> String? {
    guard let makePlan = step.stream else { return "\(stage) works on whole images" }
    guard ProcessSettings.streams else { return "\(ProcessSettings.streamingVariable)=0" }
    guard case .file(let path, _) = source else { return "images of IDX files are read whole" }
    let destination = plan.destinations[index][position]
    let toStandardOutput = destination == "-"
    let shownDestination = toStandardOutput ? "standard output" : destination
    let reader: ImageRowReader
    do {
      reader = try ImageRowReader(path: path, options: decodeOptions, gray: gray)
    } catch {
      return "the header was refused"
    }
    if let reason = reader.wholeImageReason { return reason }
    let pipeline: StreamingPipeline
    do {
      pipeline = try makePlan(reader.width, reader.height, reader.layout, reader.bitDepth)
    } catch {
      return "the kernel does not fit"
    }
    if let reason = pipeline.wholeImageReason { return reason }
    let g = pipeline.geometry
    let (pixels, overflow) = g.outputWidth.multipliedReportingOverflow(by: g.outputHeight)
    guard !overflow, pixels <= decodeOptions.pixelLimit else { return "the output is too large" }
    let output = "\(source.path): the \(step.name) output (\(g.outputWidth)×\(g.outputHeight))"
    guard (try? budget.check(MemoryEstimate(bytes: pipeline.memoryBytes), for: output)) != nil
    else {
      return "the memory budget is too small for streaming"
    }
    let writer: ImageRowWriter
    let file: AtomicFile.Stream?
    do {
      writer = try ImageRowWriter(
        format: plan.format, width: g.outputWidth, height: g.outputHeight, layout: reader.layout,
        bitDepth: reader.bitDepth, options: encodeOptions)
      file = toStandardOutput ? nil : try AtomicFile.Stream(destination)
    } catch {
      return "the output cannot be started"
    }
    var held: [UInt8] = []
    // Notes about the output come after decoding, as on the whole-image path.
    let notes = strideWarning(g, source) + depthNote(reader.bitDepth, source, shownDestination)
    let outcome: StreamingPipeline.Outcome
    do {
      outcome = try pipeline.run(
        from: reader,
        reopening: { [decodeOptions, gray] in
          try ImageRowReader(path: path, options: decodeOptions, gray: gray)
        }, to: writer, warning: { Terminal.warn($0.description) },
        sink: { bytes in
          if let file { try file.append(bytes) } else { held.append(contentsOf: bytes) }
        })
    } catch let error as CodecError {
      if case .encodeFailed = error { lines += notes }
      throw error
    } catch {
      lines += notes
      throw error
    }
    let timings: StreamingTimings
    switch outcome {
    case .needsWholeImage(let reason):
      file?.discard()
      return reason
    case .finished(let spent):
      timings = spent
    }
    lines += notes
    var clock = Stopwatch()
    if let file {
      try file.commit()
    } else {
      try held.withUnsafeBytes { try Terminal.writeStandardOutput($0) }
    }
    let commitTime = clock.lap()
    let what = "\(source.path), \(step.name)"
    var how = "streaming"
    if pipeline.passes == 2 { how += " (two passes: --range normalize needs the result's range)" }
    if reader.isProgressive { how += " (progressive JPEG: libjpeg holds every coefficient)" }
    // The stages run at once on different threads: each line gives the
    // stage's CPU time, `total` the wall time.
    how += "; stage times are CPU time, total is wall time"
    timing("path", nil, how, what, into: &lines)
    timing("decode", timings.decode, nil, what, into: &lines)
    timing(stage, timings.work, nil, what, into: &lines)
    timing("encode", timings.encode, nil, what, into: &lines)
    timing("write", timings.write + commitTime, nil, what, into: &lines)
    timing("total", timings.total + commitTime, "stages overlap", what, into: &lines)
    let wrote = "wrote \(shownDestination) (\(g.outputWidth)×\(g.outputHeight), \(step.name))"
    // With -o - the image itself is on stdout: the line goes beside the other messages.
    lines.append(toStandardOutput ? .note(wrote) : .result(wrote))
    return nil
  }

  private func strideWarning(
    _ geometry: FilterGeometry, _ source: InputImage
  ) -> [OrderedReport.Line] {
    guard !geometry.strideDividesEvenly else { return [] }
    let dropped = geometry.droppedPixels
    return [
      .warning(
        "\(source.path): stride \(geometry.stride) does not divide the padded size; the last "
          + "\(dropped.x) column(s) and \(dropped.y) row(s) are dropped (floor, as Keras does)")
    ]
  }

  private func depthNote(
    _ depth: Image.BitDepth, _ source: InputImage, _ shownDestination: String
  ) -> [OrderedReport.Line] {
    guard depth == .sixteen && plan.format == .jpeg else { return [] }
    return [
      .note(
        "\(source.path) is 16-bit; \(shownDestination) is JPEG, which holds 8 bits a sample "
          + "(write PNG to keep 16 bits)")
    ]
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

  /// With --timings: `timing filter 12.34 ms (photo.png, blur)`, or with
  /// a note and no time: `timing path streaming (photo.png, blur)`.
  private func timing(
    _ stage: String, _ milliseconds: Double?, _ note: String?, _ what: String,
    into lines: inout [OrderedReport.Line]
  ) {
    guard timings else { return }
    let value = [milliseconds.map { "\(TextFormat.fixed($0, 2)) ms" }, note].compactMap { $0 }
    lines.append(
      .diagnostic("timing \(stage) \(value.joined(separator: ", ")) (\(what))"))
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
