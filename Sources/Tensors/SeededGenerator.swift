/// A small, fast, seedable pseudo-random generator: xoshiro256** 1.0.
///
/// The 64-bit seed is expanded into the 256-bit state with SplitMix64, as the
/// xoshiro authors recommend (https://prng.di.unimi.it). The state is plain
/// data (`state`) so that training checkpoints can save it and `init(state:)`
/// can resume the exact same sequence. The sequence is part of convviz's
/// reproducibility promise: never change the algorithm silently.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
  @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

  /// The four 64-bit words of xoshiro256** state; never all zero.
  public var state: [UInt64] { [s0, s1, s2, s3] }

  /// A generator whose state is derived from `seed` with SplitMix64.
  public init(seed: UInt64) {
    var splitMix = seed
    var words: [UInt64] = []
    for _ in 0..<4 {
      splitMix &+= 0x9E37_79B9_7F4A_7C15
      var z = splitMix
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      words.append(z ^ (z >> 31))
    }
    (s0, s1, s2, s3) = (words[0], words[1], words[2], words[3])
  }

  /// Resumes from a saved `state`; returns nil unless it has four words, not all zero.
  public init?(state: [UInt64]) {
    guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
    (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
  }

  @inlinable
  public mutating func next() -> UInt64 {
    let result = rotateLeft(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotateLeft(s3, 45)
    return result
  }

  /// A uniform Float in [0, 1) with 24 random bits, the full Float precision.
  @inlinable
  public mutating func nextUnitFloat() -> Float {
    Float(next() >> 40) * (1.0 / 16_777_216.0)
  }

  /// A uniform Float in [low, high).
  public mutating func nextFloat(in low: Float, _ high: Float) -> Float {
    low + (high - low) * nextUnitFloat()
  }

  /// An independent generator for a sub-task (e.g. one dropout layer), seeded
  /// from this generator's next output so the parent sequence advances by one.
  public mutating func split() -> SeededGenerator {
    SeededGenerator(seed: next())
  }

  @inlinable @inline(__always)
  func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
    (x << k) | (x >> (64 - k))
  }
}
