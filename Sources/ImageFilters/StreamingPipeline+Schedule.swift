import Dispatch
import ImageCodecs
import _Runtime

#if canImport(Glibc)
  import Glibc
#endif

/// The order of one pass's tasks: decoding, the step's work and encoding
/// run as soon as what they need is there, not in lockstep.
///
/// Every thread of the `_Runtime` pool runs `runLoop`: it takes the most
/// urgent task that is ready, runs it outside the lock, records what it
/// finished and looks again, and waits only while none is ready and some
/// other thread still runs one. Decoding and encoding are each one chain
/// (a decoder and an encoder are used by one thread at a time); the step's
/// work on a band is cut into pieces any thread takes. What a task needs:
/// - decoding unit k (the input rows through `decoded[k]`; the last unit
///   reads the rows no band reads) the units before it, and bands
///   0..<k−`lookahead` worked, since its rows overwrite theirs in the ring
///   (the plan sized the ring for that);
/// - band b's work its rows decoded and, when writing, its output buffer
///   free (band b−`outputBuffers` encoded);
/// - encoding band b the bands before it encoded and band b worked;
///   a PNG's deflate round (`beginParallelWork`, pieces on any threads
///   while the next band's rows are written, `endParallelWork`) starts
///   after a band is written and ends before the next round starts.
/// A single thread (a busy pool, `--threads 1`) runs every task itself in
/// an order that satisfies these, so the pass never waits on nobody.
/// After a failure no task starts; the threads leave once the running
/// ones have ended.
final class PipelineSchedule: @unchecked Sendable {
  private let state: PipelineState
  private let decoded: [Int]
  private let height: Int
  private let bands: Int
  private let lookahead: Int
  private let outputBuffers: Int
  /// Pieces of each band's work, and the output rows of each piece.
  private let pieces: [[Range<Int>]]
  private let bandRows: Int
  private let measuring: Bool
  private let deflates: Bool
  private let sink: (UnsafeRawBufferPointer) throws -> Void

  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

  // Everything below is read and written under `mutex`.
  private var unitsDecoded = 0
  private var decoding = false
  private var nextBand = 0
  private var piecesTaken = 0
  private var piecesDone: [Int]
  private var bandsWorked = 0
  private var bandsWritten = 0
  private var encoderBusy = false
  private var writtenSinceRound = false
  private var roundPieces = 0
  private var roundTaken = 0
  private var roundDone = 0
  private var roundOpen = false
  private var running = 0
  private var failed = false
  /// CPU time of each stage's tasks, on the threads that ran them.
  private(set) var spent = StreamingTimings()

  private enum Task {
    case decode(unit: Int)
    case work(band: Int, piece: Int)
    case write(band: Int)
    case beginRound
    case deflate(piece: Int)
    case endRound
  }

  init(
    state: PipelineState, plan: StreamingPipeline, measuring: Bool,
    sink: @escaping (UnsafeRawBufferPointer) throws -> Void
  ) {
    self.state = state
    decoded = plan.decoded
    height = plan.height
    bands = plan.bands
    lookahead = plan.lookahead
    outputBuffers = plan.outputBuffers
    bandRows = plan.bandRows
    self.measuring = measuring
    deflates = state.writer?.format == .png
    self.sink = sink
    let outputHeight = plan.geometry.outputHeight
    let threads = Int(cvz_threads())
    pieces = (0..<plan.bands).map { b in
      let begin = b * plan.bandRows
      let end = min(begin + plan.bandRows, outputHeight)
      let count = max(1, min(2 * threads, (end - begin) / 4))
      return (0..<count).map { p in
        begin + (end - begin) * p / count..<begin + (end - begin) * (p + 1) / count
      }
    }
    piecesDone = Array(repeating: 0, count: plan.bands)
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
  }

  deinit {
    pthread_cond_destroy(condition)
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
    condition.deallocate()
  }

  /// Runs the pass on the pool's threads and returns when every task has
  /// run or, after a failure, the running ones have ended.
  func run() {
    withExtendedLifetime(self) {
      _ = cvz_parallel_for(
        cvz_threads(),
        { context, _ in
          Unmanaged<PipelineSchedule>.fromOpaque(context!).takeUnretainedValue().runLoop()
          return 0
        }, Unmanaged.passUnretained(self).toOpaque())
    }
  }

  private var finished: Bool {
    let encoded =
      measuring || (bandsWritten == bands && !roundOpen && !(deflates && writtenSinceRound))
    return unitsDecoded == bands + 1 && bandsWorked == bands && encoded
  }

  private func runLoop() {
    pthread_mutex_lock(mutex)
    while true {
      if !failed, let task = nextTask() {
        running += 1
        pthread_mutex_unlock(mutex)
        let clock = threadCPUTime()
        let result = perform(task)
        let elapsed = threadCPUMilliseconds(since: clock)
        pthread_mutex_lock(mutex)
        running -= 1
        complete(task, result: result, milliseconds: elapsed)
        pthread_cond_broadcast(condition)
        continue
      }
      if failed ? running == 0 : finished { break }
      precondition(running > 0, "the streaming schedule has no task to run")
      pthread_cond_wait(condition, mutex)
    }
    pthread_cond_broadcast(condition)
    pthread_mutex_unlock(mutex)
  }

  /// The most urgent ready task, marked as taken: the encoder's chain
  /// first (it frees output buffers), then decoding, then the pieces of
  /// work that any thread can take.
  private func nextTask() -> Task? {
    if !measuring && !encoderBusy {
      if roundOpen && roundDone == roundPieces {
        encoderBusy = true
        return .endRound
      }
      if deflates && !roundOpen && writtenSinceRound {
        encoderBusy = true
        return .beginRound
      }
      if bandsWritten < bands && bandsWorked > bandsWritten {
        encoderBusy = true
        return .write(band: bandsWritten)
      }
    }
    if !decoding && unitsDecoded <= bands {
      let k = unitsDecoded
      let ready = k < bands ? bandsWorked >= k - lookahead : bandsWorked == bands
      if ready {
        decoding = true
        return .decode(unit: k)
      }
    }
    if roundOpen && roundTaken < roundPieces {
      roundTaken += 1
      return .deflate(piece: roundTaken - 1)
    }
    if nextBand < bands && unitsDecoded > nextBand
      && (measuring || bandsWritten > nextBand - outputBuffers)
    {
      let task = Task.work(band: nextBand, piece: piecesTaken)
      piecesTaken += 1
      if piecesTaken == pieces[nextBand].count {
        nextBand += 1
        piecesTaken = 0
      }
      return task
    }
    return nil
  }

  /// Runs `task` outside the lock: nil when it failed (the error is in
  /// `state`), else 1, or a deflate round's piece count.
  private func perform(_ task: Task) -> Int? {
    switch task {
    case .decode(let unit):
      return state.decodeTask(through: unit < bands ? decoded[unit] : height) ? 1 : nil
    case .work(let band, let piece):
      let rows = pieces[band][piece]
      let ok =
        measuring
        ? state.measureTask(rows: rows)
        : state.workTask(buffer: band % outputBuffers, band: band * bandRows, rows: rows)
      return ok ? 1 : nil
    case .write(let band):
      let rows = pieces[band].last!.upperBound - band * bandRows
      let ok =
        state.encodeTask(buffer: band % outputBuffers, rows: rows)
        && (deflates || state.drain(to: sink))
      return ok ? 1 : nil
    case .beginRound:
      return state.writer!.beginParallelWork()
    case .deflate(let piece):
      state.writer!.work(piece)
      return 1
    case .endRound:
      return state.endParallelWork() && state.drain(to: sink) ? 1 : nil
    }
  }

  /// Records that `task` ended (under the lock).
  private func complete(_ task: Task, result: Int?, milliseconds: Double) {
    if result == nil { failed = true }
    switch task {
    case .decode:
      decoding = false
      unitsDecoded += 1
      spent.decode += milliseconds
    case .work(let band, _):
      piecesDone[band] += 1
      while bandsWorked < bands && piecesDone[bandsWorked] == pieces[bandsWorked].count {
        bandsWorked += 1
      }
      spent.work += milliseconds
    case .write:
      encoderBusy = false
      bandsWritten += 1
      writtenSinceRound = true
      spent.encode += milliseconds
    case .beginRound:
      encoderBusy = false
      writtenSinceRound = false
      roundOpen = true
      roundPieces = result ?? 0
      roundTaken = 0
      roundDone = 0
      spent.encode += milliseconds
    case .deflate:
      roundDone += 1
      spent.encode += milliseconds
    case .endRound:
      encoderBusy = false
      roundOpen = false
      spent.encode += milliseconds
    }
  }
}

/// CPU time of the calling thread in nanoseconds.
func threadCPUTime() -> Double {
  var time = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
  return Double(time.tv_sec) * 1e9 + Double(time.tv_nsec)
}

/// The calling thread's CPU time since `clock` (a `threadCPUTime()`), in
/// milliseconds.
func threadCPUMilliseconds(since clock: Double) -> Double {
  (threadCPUTime() - clock) / 1e6
}
