import Files
import ImageFilters
import Dispatch
import ImageCodecs
import Tensors

/// What `filter` does to one input: decode, apply each kernel, encode and
/// write; the lines to print come back for `OrderedReport`.
struct FilterWork: Sendable {
  let operations: [NamedOperation]
  let options: FilterOptions
  let decodeOptions: DecodeOptions
  let encodeOptions: EncodeOptions
  let gray: Bool
  let timings: Bool
  let plan: OutputPlan
  let budget: MemoryBudget

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
    for (position, operation) in operations.enumerated() {
      let geometry: FilterGeometry
      do {
        geometry = try FilterGeometry(
          operation: operation.operation, image: image, options: options)
      } catch {
        throw CommandFailure("\(source.path): \(error)")
      }
      if !geometry.strideDividesEvenly {
        let dropped = geometry.droppedPixels
        lines.append(
          .warning(
            "\(source.path): stride \(options.stride) does not divide the padded size; the last "
              + "\(dropped.x) column(s) and \(dropped.y) row(s) are dropped (floor, as Keras does)")
        )
      }
      try checkOutput(geometry, of: image, operation: operation, source: source)
      _ = clock.lap()
      let filtered = try ImageFilters.apply(operation.operation, to: image, options: options)
      let filterTime = clock.lap()
      // Past the last kernel the source is not needed: let it go before
      // encoding, so that a huge image is held at most twice at once.
      if position == operations.count - 1 {
        image = Image(width: 0, height: 0, layout: .gray, samples: [])
      }
      let destination = plan.destinations[index][position]
      let shownDestination = destination == "-" ? "standard output" : destination
      if filtered.bitDepth == .sixteen && plan.format == .jpeg {
        lines.append(
          .note(
            "\(source.path) is 16-bit; \(shownDestination) is JPEG, which holds 8 bits a sample "
              + "(write PNG to keep 16 bits)"))
      }
      var encodeTime = 0.0
      try ImageFile.withEncoded(filtered, as: plan.format, options: encodeOptions) { bytes in
        encodeTime = clock.lap()
        if destination == "-" {
          try Terminal.writeStandardOutput(bytes)
        } else {
          try AtomicFile.write(bytes, to: destination)
        }
      }
      let writeTime = clock.lap()
      let what = "\(source.path), \(operation.name)"
      timing("filter", filterTime, what, into: &lines)
      timing("encode", encodeTime, what, into: &lines)
      timing("write", writeTime, what, into: &lines)
      let wrote =
        "wrote \(shownDestination) (\(filtered.width)×\(filtered.height), \(operation.name))"
      // With -o - the image itself is on stdout: the line goes beside the
      // other messages.
      lines.append(destination == "-" ? .note(wrote) : .result(wrote))
    }
  }

  /// Refuses an output that the pixel limit would refuse as an input
  /// (`--padding 20000` on a tiny image), or that with the input, the
  /// encoded file and the filter's scratch would not fit the memory
  /// budget, before it is allocated.
  private func checkOutput(
    _ g: FilterGeometry, of image: Image, operation: NamedOperation, source: InputImage
  ) throws {
    let (pixels, overflow) = g.outputWidth.multipliedReportingOverflow(by: g.outputHeight)
    let limit = decodeOptions.pixelLimit
    guard !overflow, pixels <= limit else {
      throw CommandFailure(
        "\(source.path): the \(operation.name) output would be "
          + "\(g.outputWidth)×\(g.outputHeight) pixels, more than the limit of \(limit); "
          + "raise it with --max-pixels if you mean it")
    }
    let output = MemoryEstimate.array(
      of: UInt8.self, [pixels, image.channels, image.bitDepth == .eight ? 1 : 2])
    let colourChannels = image.layout.hasAlpha ? image.channels - 1 : image.channels
    let estimate =
      CommandMemory.image(image) + output * 2
      + MemoryEstimate(bytes: g.scratchBytes(colourChannels: colourChannels))
    let what = "\(source.path): the \(operation.name) output (\(g.outputWidth)×\(g.outputHeight))"
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
