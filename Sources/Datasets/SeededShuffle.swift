/// SplitMix64, a small generator whose sequence is fixed by its seed on every
/// platform and Swift version, so shuffles repeat bit for bit.
/// See <https://prng.di.unimi.it/splitmix64.c>.
struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension Array {
  /// Fisher–Yates with our own index draws, so the permutation for a seed does
  /// not depend on the standard library's shuffle algorithm.
  mutating func seededShuffle(seed: UInt64) {
    guard count > 1 else { return }
    var generator = SplitMix64(seed: seed)
    for i in stride(from: count - 1, to: 0, by: -1) {
      let j = Int(generator.next() % UInt64(i + 1))
      swapAt(i, j)
    }
  }
}
