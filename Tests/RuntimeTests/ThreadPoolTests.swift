import Foundation
import XCTest
import _Runtime

/// What the chunk bodies below record, one slot per chunk.
private final class ChunkLog {
  var threads: [pthread_t?]
  var runs: [Int]
  var nestedSums: [Int]
  var failing: Set<Int> = []

  init(count: Int) {
    threads = Array(repeating: nil, count: count)
    runs = Array(repeating: 0, count: count)
    nestedSums = Array(repeating: 0, count: count)
  }
}

/// Each chunk runs once and writes only its own slot, so the log needs no lock.
private func logChunk(_ context: UnsafeMutableRawPointer?, _ index: Int32) -> Int32 {
  let log = Unmanaged<ChunkLog>.fromOpaque(context!).takeUnretainedValue()
  log.runs[Int(index)] += 1
  log.threads[Int(index)] = pthread_self()
  // Long enough that a worker wakes before the caller has taken every chunk.
  usleep(20_000)
  return log.failing.contains(Int(index)) ? -1 : 0
}

/// Chunks that each wait (up to 10 s) until `expected` chunks are running
/// at once: they all meet only if the pool runs them on that many threads.
private final class Rendezvous {
  let expected: Int
  private var arrived = 0
  private let condition = NSCondition()
  private(set) var met = 0

  init(expected: Int) { self.expected = expected }

  func arrive() {
    condition.lock()
    arrived += 1
    condition.broadcast()
    let deadline = Date(timeIntervalSinceNow: 10)
    while arrived < expected && condition.wait(until: deadline) {}
    if arrived >= expected { met += 1 }
    condition.unlock()
  }
}

private func meet(_ context: UnsafeMutableRawPointer?, _ index: Int32) -> Int32 {
  Unmanaged<Rendezvous>.fromOpaque(context!).takeUnretainedValue().arrive()
  return 0
}

private func addIndex(_ context: UnsafeMutableRawPointer?, _ index: Int32) -> Int32 {
  context!.assumingMemoryBound(to: Int.self)[Int(index)] = Int(index) + 1
  return 0
}

/// A chunk that itself calls cvz_parallel_for: the inner call runs on the
/// chunk's own thread.
private func nestedChunk(_ context: UnsafeMutableRawPointer?, _ index: Int32) -> Int32 {
  let log = Unmanaged<ChunkLog>.fromOpaque(context!).takeUnretainedValue()
  var inner = [Int](repeating: 0, count: 4)
  let status = inner.withUnsafeMutableBufferPointer {
    cvz_parallel_for(4, addIndex, UnsafeMutableRawPointer($0.baseAddress!))
  }
  log.nestedSums[Int(index)] = inner.reduce(0, +)
  log.runs[Int(index)] += 1
  return status
}

final class ThreadPoolTests: XCTestCase {
  override func tearDown() {
    cvz_set_threads(0)
    cvz_set_allocation_limit(0)
  }

  private func run(
    _ count: Int, threads: Int32, failing: Set<Int> = [],
    body: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32 = logChunk
  ) -> (ChunkLog, Int32) {
    cvz_set_threads(threads)
    let log = ChunkLog(count: count)
    log.failing = failing
    let status = withExtendedLifetime(log) {
      cvz_parallel_for(Int32(count), body, Unmanaged.passUnretained(log).toOpaque())
    }
    return (log, status)
  }

  private func distinctThreads(_ log: ChunkLog) -> Int {
    var seen: [pthread_t] = []
    for case let thread? in log.threads
    where !seen.contains(where: { pthread_equal($0, thread) != 0 }) {
      seen.append(thread)
    }
    return seen.count
  }

  func testDefaultIsOneThreadPerCore() {
    cvz_set_threads(0)
    XCTAssertEqual(Int(cvz_threads()), ProcessInfo.processInfo.activeProcessorCount)
    cvz_set_threads(3)
    XCTAssertEqual(cvz_threads(), 3)
    cvz_set_threads(100_000)
    XCTAssertEqual(cvz_threads(), 256)
  }

  func testEveryChunkRunsExactlyOnce() {
    for threads: Int32 in [1, 2, 3, 8] {
      let (log, status) = run(11, threads: threads)
      XCTAssertEqual(status, 0)
      XCTAssertEqual(log.runs, Array(repeating: 1, count: 11), "\(threads) threads")
    }
  }

  func testChunksRunOnAsManyThreadsAsAsked() {
    XCTAssertEqual(distinctThreads(run(6, threads: 1).0), 1)
    for (chunks, threads) in [(3, 3), (2, 4), (4, 4)] {
      cvz_set_threads(Int32(threads))
      let rendezvous = Rendezvous(expected: min(chunks, threads))
      let status = withExtendedLifetime(rendezvous) {
        cvz_parallel_for(Int32(chunks), meet, Unmanaged.passUnretained(rendezvous).toOpaque())
      }
      XCTAssertEqual(status, 0)
      XCTAssertEqual(rendezvous.met, chunks, "\(chunks) chunks on \(threads) threads")
    }
  }

  func testReturnsTheLowestFailingChunksStatusAfterRunningAll() {
    for threads: Int32 in [1, 3] {
      let (log, status) = run(6, threads: threads, failing: [4, 2])
      XCTAssertEqual(status, -1)
      XCTAssertEqual(log.runs, Array(repeating: 1, count: 6))
    }
  }

  func testNestedCallsRunOnTheCallingChunk() {
    let (log, status) = run(5, threads: 2, body: nestedChunk)
    XCTAssertEqual(status, 0)
    XCTAssertEqual(log.runs, Array(repeating: 1, count: 5))
    XCTAssertEqual(log.nestedSums, Array(repeating: 1 + 2 + 3 + 4, count: 5))
  }

  func testChunkRangesCoverTheTotalInOrder() {
    var covered: [Int] = []
    for chunk: Int32 in 0..<CVZ_CHUNKS {
      var begin = 0
      var end = 0
      cvz_chunk_range(13, CVZ_CHUNKS, chunk, &begin, &end)
      XCTAssertLessThanOrEqual(begin, end)
      covered += Array(begin..<end)
    }
    XCTAssertEqual(covered, Array(0..<13))
  }
}

final class AllocationTests: XCTestCase {
  override func tearDown() { cvz_set_allocation_limit(0) }

  func testAllocationsAreCacheLineAligned() throws {
    for bytes in [0, 1, 63, 64, 1000] {
      let pointer = try XCTUnwrap(cvz_alloc(bytes))
      XCTAssertEqual(Int(bitPattern: pointer) % 64, 0)
      cvz_free(pointer)
    }
  }

  func testZeroedAllocationIsZero() throws {
    let pointer = try XCTUnwrap(cvz_alloc_zeroed(256))
    defer { cvz_free(pointer) }
    let bytes = UnsafeRawBufferPointer(start: pointer, count: 256)
    XCTAssertTrue(bytes.allSatisfy { $0 == 0 })
  }

  func testLimitAndImpossibleSizesFailWithNull() {
    cvz_set_allocation_limit(1024)
    XCTAssertNil(cvz_alloc(1025))
    let fits = cvz_alloc(1024)
    XCTAssertNotNil(fits)
    cvz_free(fits)
    cvz_set_allocation_limit(0)
    XCTAssertNil(cvz_alloc(Int.max))
  }
}
