/// The one shuffle: Fisher–Yates with convviz's own bounded draws, so the
/// permutation for a seed never depends on the standard library's shuffle
/// algorithm. The trainer's epoch order and image-folder file order both use
/// it; the sequence is part of the reproducibility promise.
extension Array {
  public mutating func seededShuffle(using generator: inout SeededGenerator) {
    guard count > 1 else { return }
    for i in stride(from: count - 1, to: 0, by: -1) {
      swapAt(i, boundedIndex(below: i + 1, using: &generator))
    }
  }
}

/// A uniform integer in 0..<n, without modulo bias: Lemire's multiply-high
/// with rejection ("Fast Random Integer Generation in an Interval", 2019,
/// https://arxiv.org/abs/1805.10941). The rejection fires with probability
/// below n / 2⁶⁴, so for any realistic n the draw is one multiplication.
func boundedIndex<G: RandomNumberGenerator>(below n: Int, using generator: inout G) -> Int {
  precondition(n > 0, "empty range")
  let bound = UInt64(n)
  var product = generator.next().multipliedFullWidth(by: bound)
  if product.low < bound {
    let threshold = (0 &- bound) % bound
    while product.low < threshold {
      product = generator.next().multipliedFullWidth(by: bound)
    }
  }
  return Int(product.high)
}
