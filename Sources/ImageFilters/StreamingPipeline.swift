import Dispatch
import ImageCodecs
import _FilterKernels

/// Where a streaming pipeline's time went, in milliseconds: the CPU time
/// of each stage's tasks on the threads that ran them (decoding, the
/// step's work — filtering or pooling —, encoding, and handing the encoded
/// bytes to the sink), and `total`, the wall-clock time. The stages run at
/// once on different bands, so on several cores they add up to more than
/// `total`; on a busy machine `total` also holds the time the threads
/// waited for a core. With two passes, the first pass's decoding and work
/// are included.
public struct StreamingTimings: Sendable, Equatable {
  public var decode = 0.0
  public var work = 0.0
  public var encode = 0.0
  public var write = 0.0
  public var total = 0.0
}

/// What a streaming pipeline computes from the rows: `apply`'s filter or
/// `pool`'s pooling.
public enum StreamingStep: Sendable, Equatable {
  case filter(FilterOperation, FilterOptions)
  case pool(PoolMode, PoolOptions)
}

/// `apply` or `pool` without the whole image: decode → step → encode as
/// one pipeline over bands of rows, so memory stays at a few bands whatever
/// the image size.
///
/// The reader's rows go into a ring just tall enough for the rows one band
/// of output reads (kernel or window height, dilation, stride and the
/// border's reflections included) plus the rows of the `lookahead` bands
/// decoded meanwhile. The `_Runtime` pool's threads take the tasks as they
/// become ready (`PipelineSchedule`): decoding runs ahead of the bands
/// being computed in pieces (the C row loops of `apply` or `pool`, reading
/// the ring), the encoder follows them through a few output bands, a PNG's
/// finished deflate bands are compressed on any thread, and the encoded
/// bytes go to the sink in order. On two cores a pass takes about the
/// longest of decoding, encoding and half of everything, not the sum. The
/// output is the whole-image path's, byte for byte, encoded as `ImageFile`
/// encodes it.
///
/// `--range normalize` takes two passes (`passes`): the first streams the
/// file through the filter to find the result's minimum and maximum, the
/// second decodes the file again and writes. Not every filter streams:
/// `wholeImageReason` says why one cannot (a kernel that reads rows far
/// apart, as `--border wrap` does, would need a ring as large as the image).
public struct StreamingPipeline {
  public let step: StreamingStep
  public let geometry: FilterGeometry
  /// Why this step needs the whole image, or nil when it streams.
  public let wholeImageReason: String?
  /// How many times `run` decodes the input: 2 when the output is
  /// normalized to the result's range, else 1.
  public let passes: Int

  let width: Int
  let height: Int
  let layout: Image.Layout
  let bitDepth: Image.BitDepth
  /// Output rows per band.
  let bandRows: Int
  let bands: Int
  /// Input rows decoded before band b is computed (prefix maximum of the
  /// last row it reads, plus 1).
  let decoded: [Int]
  /// Rows in the input ring.
  let ringRows: Int
  /// How many bands decoding may run ahead of the oldest band not yet
  /// worked on (`Self.lookahead`, less when the ring would be too large).
  let lookahead: Int
  /// Output bands in memory: the one being worked on, the ones waiting
  /// for the encoder and the one it encodes.
  let outputBuffers = 3

  /// Bands decoding may run ahead, so that a decoder that was held up
  /// (another process took its core) catches up without stopping the rest.
  static let lookahead = 2

  /// The largest input ring a streaming pipeline takes before it lets the
  /// whole-image path run instead.
  public static let ringLimit = 16 << 20

  /// Plans the pipeline for an image of `width`×`height` in `layout`
  /// (after any gray conversion). Throws what the whole-image path throws
  /// for the step's geometry and options.
  public init(
    step: StreamingStep, width: Int, height: Int, layout: Image.Layout, bitDepth: Image.BitDepth
  ) throws(FilterError) {
    try self.init(
      step: step, width: width, height: height, layout: layout, bitDepth: bitDepth,
      bandRows: nil)
  }

  /// The plan with `bandRows` output rows per band instead of about 1 MiB
  /// (tests use a few rows, so that small images take many steps).
  init(
    step: StreamingStep, width: Int, height: Int, layout: Image.Layout,
    bitDepth: Image.BitDepth, bandRows chosen: Int?
  ) throws(FilterError) {
    let g: FilterGeometry
    switch step {
    case .filter(let operation, let options):
      g = try FilterGeometry(
        inputWidth: width, inputHeight: height, kernelRows: operation.kernelRows,
        kernelCols: operation.kernelCols, options: options)
      try checkScaleAndBias(options)
      passes = options.range == .normalize ? 2 : 1
    case .pool(_, let options):
      g = try options.geometry(width: width, height: height)
      passes = 1
    }
    self.step = step
    geometry = g
    self.width = width
    self.height = height
    self.layout = layout
    self.bitDepth = bitDepth
    let sampleBytes = bitDepth == .eight ? 1 : 2
    let inRowBytes = width * layout.channels * sampleBytes
    let outRowBytes = g.outputWidth * layout.channels * sampleBytes
    let target = 1 << 20
    let rows = min(target / max(outRowBytes, 1), target / max(inRowBytes * g.stride.y, 1))
    let bandRows = min(chosen ?? max(rows, 4), g.outputHeight)
    let bands = (g.outputHeight + bandRows - 1) / bandRows
    let needs = withRowKernel(
      step: step, geometry: g, width: width, height: height, layout: layout, bitDepth: bitDepth
    ) { kernel in
      (0..<bands).map { b in
        kernel.inputRows(b * bandRows..<min((b + 1) * bandRows, g.outputHeight))
      }
    }
    var decoded: [Int] = []
    var through = 0
    for need in needs {
      through = max(through, need.last + 1)
      decoded.append(through)
    }
    // Rows read by band b or a later one start at firstRead[b] or after.
    var firstRead = Array(repeating: Int.max, count: bands + 1)
    for b in stride(from: bands - 1, through: 0, by: -1) {
      firstRead[b] = min(firstRead[b + 1], needs[b].first >= 0 ? needs[b].first : Int.max)
    }
    // Decoding unit k may start while band k − lookahead is worked on: the
    // ring holds everything from the first row that band or a later one
    // reads through the unit's last row.
    func ring(lookahead: Int) -> Int {
      var ring = 1
      for k in 0..<bands where firstRead[max(k - lookahead, 0)] != Int.max {
        ring = max(ring, decoded[k] - firstRead[max(k - lookahead, 0)])
      }
      return min(ring, height)
    }
    var lookahead = Self.lookahead
    while lookahead > 1 && ring(lookahead: lookahead) * inRowBytes > Self.ringLimit {
      lookahead -= 1
    }
    self.lookahead = lookahead
    self.bandRows = bandRows
    self.bands = bands
    ringRows = ring(lookahead: lookahead)
    self.decoded = decoded
    if ringRows * inRowBytes > Self.ringLimit {
      wholeImageReason =
        "the kernel reads rows \(ringRows) apart (a wrapping border or a tall dilated kernel)"
    } else {
      wholeImageReason = nil
    }
  }

  /// Bytes the pipeline allocates: the input ring, the output bands, the
  /// step's scratch on every thread and about 4 MiB for the codecs.
  public var memoryBytes: Int {
    let sampleBytes = bitDepth == .eight ? 1 : 2
    let ring = ringRows * width * layout.channels * sampleBytes
    let output = outputBuffers * bandRows * geometry.outputWidth * layout.channels * sampleBytes
    let colour = layout.hasAlpha ? layout.channels - 1 : layout.channels
    let scratch: Int
    switch step {
    case .filter: scratch = geometry.scratchBytes(colourChannels: colour)
    case .pool: scratch = 0
    }
    return ring + output + scratch + (4 << 20)
  }

  /// What `run` did: finished, or found out at the end of the file that the
  /// image needs the whole-image path after all (a PNG eXIf chunk after the
  /// image data); the sink's bytes are then to be thrown away.
  public enum Outcome: Sendable, Equatable {
    case finished(StreamingTimings)
    case needsWholeImage(String)
  }

  /// Runs the pipeline from `reader` (whose rows must be in `layout` at
  /// `bitDepth`, `width`×`height`) to `writer` (sized to the output), handing
  /// every encoded byte to `sink` in order. With two `passes`, `reader`
  /// serves the first and `reopen` opens the file again for the second
  /// (nothing reaches the sink before it). Throws the readers', writer's or
  /// sink's error, `FilterError.inputChanged` when the reopened file is not
  /// the image read first, or `FilterError.outOfMemory`; after an error the
  /// sink's bytes are incomplete and are to be thrown away.
  public func run(
    from reader: ImageRowReader, reopening reopen: (() throws -> ImageRowReader)? = nil,
    to writer: ImageRowWriter, warning: (CodecWarning) -> Void = { _ in },
    sink: (UnsafeRawBufferPointer) throws -> Void
  ) throws -> Outcome {
    precondition(wholeImageReason == nil, "this step does not stream")
    precondition(passes == 1 || reopen != nil, "two passes need a way to reopen the input")
    checkReader(reader)
    precondition(
      writer.width == geometry.outputWidth && writer.height == geometry.outputHeight
        && writer.layout == layout && writer.bitDepth == bitDepth,
      "writer does not match the plan")
    let start = DispatchTime.now().uptimeNanoseconds
    let buffers = PipelineBuffers(plan: self)
    defer { buffers.release() }
    var timings = StreamingTimings()
    let settled = try withRowKernel(
      step: step, geometry: geometry, width: width, height: height, layout: layout,
      bitDepth: bitDepth
    ) { plain in
      var kernel = plain.reading(ring: buffers.ring, rows: ringRows)
      var second = reader
      if passes == 2, let reopen {
        let state = PipelineState(reader: reader, writer: nil, buffers: buffers, kernel: kernel)
        try pass(state, measuring: true, timings: &timings, sink: { _ in })
        let clock = threadCPUTime()
        let settled = try reader.finish()
        timings.decode += threadCPUMilliseconds(since: clock)
        guard settled else { return false }
        kernel = kernel.normalized(low: state.range.low, high: state.range.high)
        second = try reopen()
        guard second.width == width, second.height == height, second.layout == layout,
          second.bitDepth == bitDepth
        else {
          throw FilterError.inputChanged(path: second.path)
        }
      }
      let state = PipelineState(reader: second, writer: writer, buffers: buffers, kernel: kernel)
      try pass(state, measuring: false, timings: &timings, sink: sink)
      var clock = threadCPUTime()
      let settled = try second.finish(warning: warning)
      timings.decode += threadCPUMilliseconds(since: clock)
      clock = threadCPUTime()
      try writer.finish()
      timings.encode += threadCPUMilliseconds(since: clock)
      clock = threadCPUTime()
      try writer.drain { bytes in try sink(bytes) }
      timings.write += threadCPUMilliseconds(since: clock)
      return settled
    }
    guard settled else {
      return .needsWholeImage("an eXIf chunk after the image data may turn the picture")
    }
    timings.total = milliseconds(since: start)
    return .finished(timings)
  }

  /// One pass over the file: decode, compute and (unless `measuring`)
  /// encode, overlapping as `PipelineSchedule` orders them.
  private func pass(
    _ state: PipelineState, measuring: Bool, timings: inout StreamingTimings,
    sink: (UnsafeRawBufferPointer) throws -> Void
  ) throws {
    withoutActuallyEscaping(sink) { sink in
      let schedule = PipelineSchedule(
        state: state, plan: self, measuring: measuring, sink: sink)
      schedule.run()
      timings.decode += schedule.spent.decode
      timings.work += schedule.spent.work
      timings.encode += schedule.spent.encode - state.drainTime
      timings.write += state.drainTime
    }
    try state.checkFailures()
  }

  private func checkReader(_ reader: ImageRowReader) {
    precondition(
      reader.width == width && reader.height == height && reader.layout == layout
        && reader.bitDepth == bitDepth, "reader does not match the plan")
  }
}

func milliseconds(since start: UInt64) -> Double {
  Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}
