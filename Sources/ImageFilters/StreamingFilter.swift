import Dispatch
import Synchronization
import ImageCodecs
import _FilterKernels
import _Runtime

/// Where a streaming filter's time went, in milliseconds. Decoding,
/// filtering and encoding overlap (they run at once on different bands), so
/// the stages add up to more than `total`, the wall-clock time.
public struct StreamingTimings: Sendable, Equatable {
  public var decode = 0.0
  public var filter = 0.0
  public var encode = 0.0
  public var write = 0.0
  public var total = 0.0
}

/// `apply` without the whole image: decode → filter → encode as one
/// pipeline over bands of rows, so memory stays at a few bands whatever
/// the image size.
///
/// The reader's rows go into a ring just tall enough for the rows one band
/// of output reads (kernel height, dilation, stride and the border's
/// reflections included) plus the rows decoded meanwhile. Each step runs,
/// on the `_Runtime` pool at once: decoding the rows of band i+1, filtering
/// band i in pieces (the C row kernels of `apply`, reading the ring),
/// encoding band i−1, and compressing the PNG bands completed in the step
/// before; the encoded bytes then go to the sink. The output is
/// `apply`'s, byte for byte, encoded as `ImageFile` encodes it.
///
/// Not every filter streams: `wholeImageReason` says why one cannot
/// (`--range normalize` needs the result's minimum and maximum first; a
/// kernel that reads rows far apart, as `--border wrap` does, would need a
/// ring as large as the image).
public struct StreamingFilter {
  public let operation: FilterOperation
  public let options: FilterOptions
  public let geometry: FilterGeometry
  /// Why this filter needs the whole image, or nil when it streams.
  public let wholeImageReason: String?

  let width: Int
  let height: Int
  let layout: Image.Layout
  let bitDepth: Image.BitDepth
  /// Output rows per band.
  let bandRows: Int
  let bands: Int
  /// Input rows band b reads (first, last), or (-1, -1).
  let needs: [(first: Int, last: Int)]
  /// Input rows decoded before band b is filtered (prefix maximum of last + 1).
  let decoded: [Int]
  /// Rows in the input ring.
  let ringRows: Int

  /// The largest input ring a streaming filter takes before it lets the
  /// whole-image path run instead.
  public static let ringLimit = 16 << 20

  /// Plans the pipeline for an image of `width`×`height` in `layout`
  /// (after any gray conversion). Throws what `FilterGeometry` throws.
  public init(
    operation: FilterOperation, options: FilterOptions, width: Int, height: Int,
    layout: Image.Layout, bitDepth: Image.BitDepth
  ) throws(FilterError) {
    try self.init(
      operation: operation, options: options, width: width, height: height, layout: layout,
      bitDepth: bitDepth, bandRows: nil)
  }

  /// The plan with `bandRows` output rows per band instead of about 1 MiB
  /// (tests use a few rows, so that small images take many steps).
  init(
    operation: FilterOperation, options: FilterOptions, width: Int, height: Int,
    layout: Image.Layout, bitDepth: Image.BitDepth, bandRows chosen: Int?
  ) throws(FilterError) {
    let g = try FilterGeometry(
      inputWidth: width, inputHeight: height, kernelRows: operation.kernelRows,
      kernelCols: operation.kernelCols, options: options)
    self.operation = operation
    self.options = options
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
    bandRows = min(chosen ?? max(rows, 4), g.outputHeight)
    bands = (g.outputHeight + bandRows - 1) / bandRows
    var f = withKernelWeights(of: operation) { kernels in
      filterDescription(
        geometry: g, options: options, width: width, height: height, layout: layout,
        bitDepth: bitDepth, kernels: kernels)
    }
    var needs: [(first: Int, last: Int)] = []
    var decoded: [Int] = []
    var through = 0
    for b in 0..<bands {
      var first: Int32 = -1
      var last: Int32 = -1
      let begin = b * bandRows
      cvz_filter_input_rows(
        &f, Int32(begin), Int32(min(begin + bandRows, g.outputHeight)), &first, &last)
      needs.append((Int(first), Int(last)))
      through = max(through, Int(last) + 1)
      decoded.append(through)
    }
    var ring = 1
    for b in 0..<bands where needs[b].first >= 0 {
      let next = b + 1 < bands ? decoded[b + 1] : decoded[b]
      ring = max(ring, next - needs[b].first)
    }
    ringRows = min(ring, height)
    self.needs = needs
    self.decoded = decoded
    if options.range == .normalize {
      wholeImageReason = "--range normalize needs the minimum and maximum of the whole result"
    } else if ringRows * inRowBytes > Self.ringLimit {
      wholeImageReason =
        "the kernel reads rows \(ringRows) apart (a wrapping border or a tall dilated kernel)"
    } else {
      wholeImageReason = nil
    }
  }

  /// Bytes the pipeline allocates: the input ring, two output bands, the
  /// filter's scratch on every thread and about 4 MiB for the codecs.
  public var memoryBytes: Int {
    let sampleBytes = bitDepth == .eight ? 1 : 2
    let ring = ringRows * width * layout.channels * sampleBytes
    let output = 2 * bandRows * geometry.outputWidth * layout.channels * sampleBytes
    let colour = layout.hasAlpha ? layout.channels - 1 : layout.channels
    return ring + output + geometry.scratchBytes(colourChannels: colour) + (4 << 20)
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
  /// every encoded byte to `sink` in order. Throws the reader's, writer's or
  /// sink's error, or `FilterError.outOfMemory`; after an error the sink's
  /// bytes are incomplete and are to be thrown away.
  public func run(
    from reader: ImageRowReader, to writer: ImageRowWriter,
    warning: (CodecWarning) -> Void = { _ in },
    sink: (UnsafeRawBufferPointer) throws -> Void
  ) throws -> Outcome {
    precondition(wholeImageReason == nil, "this filter does not stream")
    precondition(
      reader.width == width && reader.height == height && reader.layout == layout
        && reader.bitDepth == bitDepth, "reader does not match the plan")
    precondition(
      writer.width == geometry.outputWidth && writer.height == geometry.outputHeight
        && writer.layout == layout && writer.bitDepth == bitDepth,
      "writer does not match the plan")
    let start = DispatchTime.now().uptimeNanoseconds
    let buffers = PipelineBuffers(plan: self)
    defer { buffers.release() }
    var timings = StreamingTimings()
    let settled = try withKernelWeights(of: operation) { kernels in
      var f = filterDescription(
        geometry: geometry, options: options, width: width, height: height, layout: layout,
        bitDepth: bitDepth, kernels: kernels)
      f.input = UnsafeRawPointer(buffers.ring)
      f.input_ring_rows = Int32(ringRows)
      let state = PipelineState(reader: reader, writer: writer, buffers: buffers, filter: f)
      try state.decode(through: decoded[0], timings: &timings)
      for b in 0...bands {
        var tasks: [() -> Void] = []
        if b < bands && b + 1 < bands && decoded[b + 1] > decoded[b] {
          let through = decoded[b + 1]
          tasks.append { state.decodeTask(through: through) }
        }
        if b == bands && decoded[bands - 1] < height {
          tasks.append { state.decodeTask(through: height) }
        }
        let encodePieces = writer.beginParallelWork()
        for piece in 0..<encodePieces { tasks.append { state.encodeWorkTask(piece) } }
        if b > 0 {
          let band = b - 1
          let rows = min(bandRows, geometry.outputHeight - band * bandRows)
          tasks.append { state.encodeTask(buffer: band % 2, rows: rows) }
        }
        if b < bands {
          let begin = b * bandRows
          let end = min(begin + bandRows, geometry.outputHeight)
          let pieces = max(1, min(2 * Int(cvz_threads()), (end - begin) / 4))
          for p in 0..<pieces {
            let from = begin + (end - begin) * p / pieces
            let to = begin + (end - begin) * (p + 1) / pieces
            tasks.append { state.filterTask(buffer: b % 2, band: begin, rows: from..<to) }
          }
        }
        try state.run(tasks, timings: &timings)
        try writer.endParallelWork()
        let clock = DispatchTime.now().uptimeNanoseconds
        try writer.drain { bytes in try sink(bytes) }
        timings.write += milliseconds(since: clock)
      }
      let clock = DispatchTime.now().uptimeNanoseconds
      let settled = try reader.finish(warning: warning)
      timings.decode += milliseconds(since: clock)
      let encoding = DispatchTime.now().uptimeNanoseconds
      try writer.finish()
      timings.encode += milliseconds(since: encoding)
      let writing = DispatchTime.now().uptimeNanoseconds
      try writer.drain { bytes in try sink(bytes) }
      timings.write += milliseconds(since: writing)
      return settled
    }
    guard settled else {
      return .needsWholeImage("an eXIf chunk after the image data may turn the picture")
    }
    timings.total = milliseconds(since: start)
    return .finished(timings)
  }
}

func milliseconds(since start: UInt64) -> Double {
  Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}

/// The pipeline's memory: the input ring and two output bands.
private final class PipelineBuffers: @unchecked Sendable {
  let ring: UnsafeMutableRawPointer
  let outputs: [UnsafeMutableRawPointer]
  let inRowBytes: Int
  let outRowBytes: Int
  let ringRows: Int

  init(plan: StreamingFilter) {
    let sampleBytes = plan.bitDepth == .eight ? 1 : 2
    inRowBytes = plan.width * plan.layout.channels * sampleBytes
    outRowBytes = plan.geometry.outputWidth * plan.layout.channels * sampleBytes
    ringRows = plan.ringRows
    ring = .allocate(byteCount: max(1, plan.ringRows * inRowBytes), alignment: 64)
    outputs = (0..<2).map { _ in
      .allocate(
        byteCount: max(
          1, plan.bandRows * plan.geometry.outputWidth * plan.layout.channels * sampleBytes),
        alignment: 64)
    }
  }

  func release() {
    ring.deallocate()
    for buffer in outputs { buffer.deallocate() }
  }
}

/// One run's moving parts, shared by the tasks of a step. Each task writes
/// only its own fields (decode: `rowsDecoded`, `decodeError`; encode:
/// `encodeError`; filter pieces: their slot of `filterFailed`), and the step
/// reads them after the tasks have joined.
private final class PipelineState: @unchecked Sendable {
  let reader: ImageRowReader
  let writer: ImageRowWriter
  let buffers: PipelineBuffers
  let filter: cvz_filter
  var rowsDecoded = 0
  var decodeError: (any Error)?
  var encodeError: (any Error)?
  let filterFailures = Mutex(false)
  let clocks = Mutex((decode: 0.0, filter: 0.0, encode: 0.0))

  init(reader: ImageRowReader, writer: ImageRowWriter, buffers: PipelineBuffers, filter: cvz_filter)
  {
    self.reader = reader
    self.writer = writer
    self.buffers = buffers
    self.filter = filter
  }

  /// Decodes rows up to (not including) `through` into the ring, on the caller.
  func decode(through: Int, timings: inout StreamingTimings) throws {
    let clock = DispatchTime.now().uptimeNanoseconds
    try decodeRows(through: through)
    timings.decode += milliseconds(since: clock)
  }

  private func decodeRows(through: Int) throws {
    while rowsDecoded < through {
      let slot = rowsDecoded % buffers.ringRows
      let count = min(through - rowsDecoded, buffers.ringRows - slot)
      try reader.read(rows: count, into: buffers.ring + slot * buffers.inRowBytes)
      rowsDecoded += count
    }
  }

  func decodeTask(through: Int) {
    let clock = DispatchTime.now().uptimeNanoseconds
    do {
      try decodeRows(through: through)
    } catch {
      decodeError = error
    }
    let elapsed = milliseconds(since: clock)
    clocks.withLock { $0.decode += elapsed }
  }

  func encodeTask(buffer: Int, rows: Int) {
    let clock = DispatchTime.now().uptimeNanoseconds
    do {
      try writer.write(rows: rows, from: UnsafeRawPointer(buffers.outputs[buffer]))
    } catch {
      encodeError = error
    }
    let elapsed = milliseconds(since: clock)
    clocks.withLock { $0.encode += elapsed }
  }

  func encodeWorkTask(_ piece: Int) {
    let clock = DispatchTime.now().uptimeNanoseconds
    writer.work(piece)
    let elapsed = milliseconds(since: clock)
    clocks.withLock { $0.encode += elapsed }
  }

  func filterTask(buffer: Int, band: Int, rows: Range<Int>) {
    let clock = DispatchTime.now().uptimeNanoseconds
    var f = filter
    f.output = buffers.outputs[buffer]
    f.out_row_offset = Int32(band)
    let status = cvz_filter_rows(&f, Int32(rows.lowerBound), Int32(rows.upperBound))
    if status != CVZ_STATUS_OK { filterFailures.withLock { $0 = true } }
    let elapsed = milliseconds(since: clock)
    clocks.withLock { $0.filter += elapsed }
  }

  /// Runs one step's tasks on the pool and throws the first failure in
  /// the order the whole-image path meets them: decoding, filtering, encoding.
  func run(_ tasks: [() -> Void], timings: inout StreamingTimings) throws {
    let box = TaskList(tasks)
    withExtendedLifetime(box) {
      _ = cvz_parallel_for(
        Int32(tasks.count),
        { context, index in
          Unmanaged<TaskList>.fromOpaque(context!).takeUnretainedValue().tasks[Int(index)]()
          return 0
        }, Unmanaged.passUnretained(box).toOpaque())
    }
    let spent = clocks.withLock { value in
      defer { value = (0, 0, 0) }
      return value
    }
    timings.decode += spent.decode
    timings.filter += spent.filter
    timings.encode += spent.encode
    if let decodeError { throw decodeError }
    if filterFailures.withLock({ $0 }) {
      var f = filter
      throw FilterError.outOfMemory(bytes: cvz_filter_scratch_bytes(&f))
    }
    if let encodeError { throw encodeError }
  }
}

private final class TaskList: @unchecked Sendable {
  let tasks: [() -> Void]
  init(_ tasks: [() -> Void]) { self.tasks = tasks }
}
