import Synchronization
import _Runtime

/// Sample arrays handed back when an image is done with, for the next image
/// of a batch with the same sample count: decoding and filtering write into
/// memory the process already has mapped, instead of fresh pages that fault
/// in on first touch (a 4096² RGB image is 12,288 pages; glibc returns such
/// large blocks to the system when they are freed, so every image would pay
/// again).
///
/// Nothing is zero-filled: a taken array holds the previous image's samples
/// and the decoder or filter writing into it writes every sample. An array
/// still referenced elsewhere is copied on first write (Swift's value
/// semantics), so reusing is never visible in the results, only in the time.
/// At most `capacity` arrays are kept; a request for a size not kept drops
/// the arrays of other sizes, so a batch whose sizes change holds no more
/// than one without reuse.
public final class SampleBuffers: Sendable, Equatable {
  private struct Kept {
    var eight: [[UInt8]] = []
    var sixteen: [[UInt16]] = []
    var reuses = 0
  }

  private let kept = Mutex(Kept())
  /// The most arrays kept at once.
  public let capacity: Int

  /// `capacity`: about two per image processed at once (its input and its
  /// output).
  public init(capacity: Int) {
    precondition(capacity >= 0, "capacity must not be negative")
    self.capacity = capacity
  }

  /// How many requests were served from kept arrays.
  public var reuses: Int { kept.withLock { $0.reuses } }

  /// Keeps `image`'s samples for a later image of the same size.
  public func recycle(_ image: Image) {
    guard capacity > 0 else { return }
    kept.withLock { kept in
      if image.bitDepth == .eight, !image.samples8.isEmpty {
        kept.eight.append(image.samples8)
      } else if image.bitDepth == .sixteen, !image.samples16.isEmpty {
        kept.sixteen.append(image.samples16)
      }
      while kept.eight.count + kept.sixteen.count > capacity {
        if kept.eight.count >= kept.sixteen.count {
          kept.eight.removeFirst()
        } else {
          kept.sixteen.removeFirst()
        }
      }
    }
  }

  /// A kept array of exactly `count` samples (contents: whatever was there),
  /// or nil.
  func take(_ type: UInt8.Type, count: Int) -> [UInt8]? {
    kept.withLock { kept in
      guard let i = kept.eight.firstIndex(where: { $0.count == count }) else {
        kept.eight.removeAll()
        return nil
      }
      kept.reuses += 1
      return kept.eight.remove(at: i)
    }
  }

  func take(_ type: UInt16.Type, count: Int) -> [UInt16]? {
    kept.withLock { kept in
      guard let i = kept.sixteen.firstIndex(where: { $0.count == count }) else {
        kept.sixteen.removeAll()
        return nil
      }
      kept.reuses += 1
      return kept.sixteen.remove(at: i)
    }
  }

  /// An array of `count` samples for `fill` to write every one of, kept or
  /// new (uninitialized, huge pages advised); nil when `fill` fails.
  public func samples<T: FixedWidthInteger>(
    _ type: T.Type, count: Int, fill: (UnsafeMutableRawPointer, Int) -> Bool
  ) -> [T]? {
    var reused: [T]?
    // The same type under two names: the bit cast only renames it.
    if T.self == UInt8.self {
      reused = take(UInt8.self, count: count).map { unsafeBitCast($0, to: [T].self) }
    } else if T.self == UInt16.self {
      reused = take(UInt16.self, count: count).map { unsafeBitCast($0, to: [T].self) }
    }
    guard var samples = reused else { return freshSamples(type, count: count, fill: fill) }
    // The array's only reference must be `samples`, or writing copies it.
    reused = nil
    let succeeded = samples.withUnsafeMutableBytes { raw in
      fill(raw.baseAddress!, raw.count)
    }
    return succeeded ? samples : nil
  }

  /// `buffers.samples(…)`, or new samples when `buffers` is nil.
  public static func samples<T: FixedWidthInteger>(
    _ type: T.Type, count: Int, from buffers: SampleBuffers?,
    fill: (UnsafeMutableRawPointer, Int) -> Bool
  ) -> [T]? {
    if let buffers { return buffers.samples(type, count: count, fill: fill) }
    return freshSamples(type, count: count, fill: fill)
  }

  public static func == (a: SampleBuffers, b: SampleBuffers) -> Bool { a === b }
}

/// A new array of `count` samples for `fill` to write every one of: not
/// zero-filled first (that would cost a pass over the image; on failure the
/// array is discarded), huge pages advised.
func freshSamples<T: FixedWidthInteger>(
  _ type: T.Type, count: Int, fill: (UnsafeMutableRawPointer, Int) -> Bool
) -> [T]? {
  var succeeded = false
  let samples = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
    cvz_advise_huge_pages(buffer.baseAddress, count * MemoryLayout<T>.stride)
    succeeded = fill(UnsafeMutableRawPointer(buffer.baseAddress!), count * MemoryLayout<T>.stride)
    initialized = count
  }
  return succeeded ? samples : nil
}
