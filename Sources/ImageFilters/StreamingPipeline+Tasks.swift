import Synchronization
import ImageCodecs
import _FilterKernels
import _Runtime

/// The C row loops of one step, as the pipeline calls them: the same
/// descriptions `apply` and `pool` hand to C, reading a ring of input rows
/// and writing a band of output rows.
enum RowKernel: @unchecked Sendable {
  case filter(cvz_filter)
  case pool(cvz_pool)

  /// The first and last input rows output `rows` read, or (-1, -1) when
  /// they read none.
  func inputRows(_ rows: Range<Int>) -> (first: Int, last: Int) {
    var first: Int32 = -1
    var last: Int32 = -1
    switch self {
    case .filter(var f):
      cvz_filter_input_rows(&f, Int32(rows.lowerBound), Int32(rows.upperBound), &first, &last)
    case .pool(var p):
      cvz_pool_input_rows(&p, Int32(rows.lowerBound), Int32(rows.upperBound), &first, &last)
    }
    return (Int(first), Int(last))
  }

  /// The kernel reading image row y from slot y % `rows` of `ring`.
  func reading(ring: UnsafeMutableRawPointer, rows: Int) -> RowKernel {
    switch self {
    case .filter(var f):
      f.input = UnsafeRawPointer(ring)
      f.input_ring_rows = Int32(rows)
      return .filter(f)
    case .pool(var p):
      p.input = UnsafeRawPointer(ring)
      p.input_ring_rows = Int32(rows)
      return .pool(p)
    }
  }

  /// The filter mapping `low...high` onto the full sample range, as
  /// `apply`'s second pass does.
  func normalized(low: Float, high: Float) -> RowKernel {
    guard case .filter(var f) = self else { return self }
    cvz_filter_set_normalization(&f, low, high)
    return .filter(f)
  }

  /// Computes output `rows` into `output`, which holds the band starting
  /// at output row `band`. False when scratch memory ran out.
  func run(rows: Range<Int>, band: Int, output: UnsafeMutableRawPointer) -> Bool {
    switch self {
    case .filter(var f):
      f.output = output
      f.out_row_offset = Int32(band)
      return cvz_filter_rows(&f, Int32(rows.lowerBound), Int32(rows.upperBound))
        == CVZ_STATUS_OK
    case .pool(var p):
      p.output = output
      p.out_row_offset = Int32(band)
      cvz_pool_rows(&p, Int32(rows.lowerBound), Int32(rows.upperBound))
      return true
    }
  }

  /// The smallest and largest filter result over output `rows`, or nil
  /// when scratch memory ran out.
  func range(rows: Range<Int>) -> (low: Float, high: Float)? {
    guard case .filter(var f) = self else { preconditionFailure("only a filter has a range") }
    var low: Float = 0
    var high: Float = 0
    let status = cvz_filter_range(
      &f, Int32(rows.lowerBound), Int32(rows.upperBound), &low, &high)
    return status == CVZ_STATUS_OK ? (low, high) : nil
  }

  /// The bytes of scratch one call allocates, for the out-of-memory error.
  var scratchBytes: Int {
    guard case .filter(var f) = self else { return 0 }
    return cvz_filter_scratch_bytes(&f)
  }
}

/// The row kernel of `step` on a `width`×`height` image (input and output
/// pointers left for the caller), valid inside `body`: a filter's weights
/// live only that long.
func withRowKernel<R>(
  step: StreamingStep, geometry: FilterGeometry, width: Int, height: Int,
  layout: Image.Layout, bitDepth: Image.BitDepth, _ body: (RowKernel) throws -> R
) rethrows -> R {
  switch step {
  case .filter(let operation, let options):
    return try withKernelWeights(of: operation) { kernels in
      try body(
        .filter(
          filterDescription(
            geometry: geometry, options: options, width: width, height: height,
            layout: layout, bitDepth: bitDepth, kernels: kernels)))
    }
  case .pool(let mode, _):
    return try body(
      .pool(
        poolDescription(
          geometry: geometry, mode: mode, width: width, height: height, layout: layout,
          bitDepth: bitDepth)))
  }
}

/// The pipeline's memory: the input ring and the output bands.
final class PipelineBuffers: @unchecked Sendable {
  let ring: UnsafeMutableRawPointer
  let outputs: [UnsafeMutableRawPointer]
  let inRowBytes: Int
  let ringRows: Int

  init(plan: StreamingPipeline) {
    let sampleBytes = plan.bitDepth == .eight ? 1 : 2
    inRowBytes = plan.width * plan.layout.channels * sampleBytes
    ringRows = plan.ringRows
    ring = .allocate(byteCount: max(1, plan.ringRows * inRowBytes), alignment: 64)
    let outputBytes =
      plan.bandRows * plan.geometry.outputWidth * plan.layout.channels * sampleBytes
    outputs = (0..<plan.outputBuffers).map { _ in
      .allocate(byteCount: max(1, outputBytes), alignment: 64)
    }
  }

  func release() {
    ring.deallocate()
    for buffer in outputs { buffer.deallocate() }
  }
}

/// One pass's moving parts, which `PipelineSchedule`'s tasks use. The
/// decoder is used by one task at a time, and so is the encoder (except for
/// a PNG's deflate pieces, which it allows beside `write`); each error field
/// is written by its own chain before the schedule's lock is taken, and
/// read after the pass.
final class PipelineState: @unchecked Sendable {
  let reader: ImageRowReader
  /// Nil on the first pass of two, which writes nothing.
  let writer: ImageRowWriter?
  let buffers: PipelineBuffers
  let kernel: RowKernel
  private var rowsDecoded = 0
  private var decodeError: (any Error)?
  private var encodeError: (any Error)?
  private let workFailures = Mutex(false)
  private let measured = Mutex((low: Float.infinity, high: -Float.infinity))

  init(
    reader: ImageRowReader, writer: ImageRowWriter?, buffers: PipelineBuffers, kernel: RowKernel
  ) {
    self.reader = reader
    self.writer = writer
    self.buffers = buffers
    self.kernel = kernel
  }

  /// The smallest and largest result the measuring tasks found.
  var range: (low: Float, high: Float) { measured.withLock { $0 } }

  /// Decodes rows up to (not including) `through` into the ring.
  func decodeTask(through: Int) -> Bool {
    do {
      while rowsDecoded < through {
        let slot = rowsDecoded % buffers.ringRows
        let count = min(through - rowsDecoded, buffers.ringRows - slot)
        try reader.read(rows: count, into: buffers.ring + slot * buffers.inRowBytes)
        rowsDecoded += count
      }
      return true
    } catch {
      decodeError = error
      return false
    }
  }

  func encodeTask(buffer: Int, rows: Int) -> Bool {
    do {
      try writer!.write(rows: rows, from: UnsafeRawPointer(buffers.outputs[buffer]))
      return true
    } catch {
      encodeError = error
      return false
    }
  }

  func endParallelWork() -> Bool {
    do {
      try writer!.endParallelWork()
      return true
    } catch {
      encodeError = error
      return false
    }
  }

  /// CPU milliseconds `drain` took (the encoder's chain only).
  private(set) var drainTime = 0.0

  /// Hands the encoded bytes to `sink`.
  func drain(to sink: (UnsafeRawBufferPointer) throws -> Void) -> Bool {
    let clock = threadCPUTime()
    defer { drainTime += threadCPUMilliseconds(since: clock) }
    do {
      try writer!.drain { bytes in try sink(bytes) }
      return true
    } catch {
      encodeError = error
      return false
    }
  }

  func workTask(buffer: Int, band: Int, rows: Range<Int>) -> Bool {
    if !kernel.run(rows: rows, band: band, output: buffers.outputs[buffer]) {
      workFailures.withLock { $0 = true }
      return false
    }
    return true
  }

  /// Folds the range of `rows` into `range` with `cvz_filter_image`'s
  /// comparisons (the minimum and maximum do not depend on the order).
  func measureTask(rows: Range<Int>) -> Bool {
    guard let found = kernel.range(rows: rows) else {
      workFailures.withLock { $0 = true }
      return false
    }
    measured.withLock { value in
      value.low = found.low < value.low ? found.low : value.low
      value.high = found.high > value.high ? found.high : value.high
    }
    return true
  }

  /// After a pass: throws its first failure in the order the whole-image
  /// path meets them: decoding, the step's work, encoding.
  func checkFailures() throws {
    if let decodeError { throw decodeError }
    if workFailures.withLock({ $0 }) { throw FilterError.outOfMemory(bytes: kernel.scratchBytes) }
    if let encodeError { throw encodeError }
  }
}
