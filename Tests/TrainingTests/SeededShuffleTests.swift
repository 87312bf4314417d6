import XCTest

@testable import Tensors

/// The one shuffle (Tensors), used by the trainer and the image-folder loader.
final class SeededShuffleTests: XCTestCase {
  func testShuffleIsASeededPermutation() {
    var a = Array(0..<100)
    var generator = SeededGenerator(seed: 4)
    a.seededShuffle(using: &generator)
    XCTAssertEqual(a.sorted(), Array(0..<100))
    XCTAssertNotEqual(a, Array(0..<100))
    var b = Array(0..<100)
    var same = SeededGenerator(seed: 4)
    b.seededShuffle(using: &same)
    XCTAssertEqual(a, b)
  }

  /// Replays fixed outputs, to reach the rare rejection branch.
  private struct Replay: RandomNumberGenerator {
    var values: [UInt64]
    mutating func next() -> UInt64 { values.removeFirst() }
  }

  func testBoundedDrawIsMultiplyHighWithRejection() {
    // For n = 3, 2⁶⁴ mod 3 = 1: a draw whose low product word is 0 is the one
    // surplus value and is drawn again; a plain modulo or multiply-high
    // would have kept it as 0.
    var replay = Replay(values: [0, UInt64.max])
    XCTAssertEqual(boundedIndex(below: 3, using: &replay), 2)
    XCTAssertTrue(replay.values.isEmpty)
    var plain = Replay(values: [UInt64.max / 2])
    XCTAssertEqual(boundedIndex(below: 3, using: &plain), 1, "⌊(2⁶³ − 1)·3 / 2⁶⁴⌋ = 1")
  }

  /// The old image-folder shuffle drew `next() % (i + 1)`, which favours
  /// small indices; the bounded draw does not. With n = 3·2⁶⁰, 2⁶⁴ = 5n +
  /// n/3, so the modulo puts 6/16 = 0.375 of the draws in the first third.
  func testBoundedDrawIsUniformWhereModuloIsNot() {
    let n = 3 << 60
    var generator = SeededGenerator(seed: 11)
    var low = 0
    let draws = 20_000
    for _ in 0..<draws where boundedIndex(below: n, using: &generator) < n / 3 { low += 1 }
    XCTAssertEqual(Double(low) / Double(draws), 1.0 / 3, accuracy: 0.02)
    var modulo = SeededGenerator(seed: 11)
    var lowModulo = 0
    for _ in 0..<draws where Int(modulo.next() % UInt64(n)) < n / 3 { lowModulo += 1 }
    XCTAssertEqual(Double(lowModulo) / Double(draws), 0.375, accuracy: 0.02, "the bias removed")
  }
}
