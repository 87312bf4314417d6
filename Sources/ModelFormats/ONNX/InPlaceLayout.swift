/// Layout changes of a weight matrix made in its own storage, so that a
/// large weight (VGG-16's first Dense holds 411 MB) is not held twice while
/// it moves into the engine's layout.
///
/// Both are permutations of equal-sized pieces followed cycle by cycle
/// (each piece moved once, a bit per piece marking those already moved).
/// A transposition is split into four such permutations of large pieces
/// when the two sides share a divisor `k` of at least 8: with rows
/// R = a·k and columns C = b·k, the index (r1, r0, c1, c0) becomes
/// (c1, c0, r1, r0) through (r1, c1, r0, c0), (r1, c1, c0, r0) and
/// (c1, r1, c0, r0), each step moving runs of k or k² floats, or swapping
/// within a k×k block that fits in cache.
enum InPlaceLayout {
  /// Transposes the `rows` × `columns` row-major matrix in `storage` into
  /// `columns` × `rows`.
  static func transpose(_ storage: inout [Float], rows: Int, columns: Int) {
    precondition(storage.count == rows * columns, "storage does not hold the matrix")
    guard rows > 1, columns > 1 else { return }
    var visited = BitSet()
    storage.withUnsafeMutableBufferPointer { buffer in
      let base = buffer.baseAddress!
      guard let k = blockSide(rows, columns) else {
        permuteTransposing(base, rows: rows, columns: columns, elementSize: 1, visited: &visited)
        return
      }
      let (a, b) = (rows / k, columns / k)
      for r1 in 0..<a {
        permuteTransposing(
          base + r1 * k * columns, rows: k, columns: b, elementSize: k, visited: &visited)
      }
      for block in 0..<(a * b) {
        transposeSquare(base + block * k * k, side: k)
      }
      permuteTransposing(base, rows: a, columns: b, elementSize: k * k, visited: &visited)
      for c1 in 0..<b {
        permuteTransposing(
          base + c1 * a * k * k, rows: a, columns: k, elementSize: k, visited: &visited)
      }
    }
  }

  /// Reorders the `rows` rows of `rowLength` floats in `storage`: row `j`
  /// takes the row that was at `source(j)` (a permutation of the rows).
  static func permuteRows(
    _ storage: inout [Float], rows: Int, rowLength: Int, source: (Int) -> Int
  ) {
    precondition(storage.count == rows * rowLength, "storage does not hold the rows")
    var visited = BitSet()
    storage.withUnsafeMutableBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      permute(base, count: rows, elementSize: rowLength, visited: &visited, source: source)
    }
  }

  /// The largest common divisor of `rows` and `columns` from 8 to 256:
  /// pieces of at least 32 bytes, blocks of at most 256 KB.
  static func blockSide(_ rows: Int, _ columns: Int) -> Int? {
    var (x, y) = (rows, columns)
    while y != 0 { (x, y) = (y, x % y) }
    return stride(from: min(256, x), through: 8, by: -1).first { x % $0 == 0 }
  }

  /// Transposes a `rows` × `columns` matrix of pieces of `elementSize`
  /// floats: piece j = c·rows + r of the result was piece r·columns + c.
  private static func permuteTransposing(
    _ base: UnsafeMutablePointer<Float>, rows: Int, columns: Int, elementSize: Int,
    visited: inout BitSet
  ) {
    guard rows > 1, columns > 1 else { return }
    permute(base, count: rows * columns, elementSize: elementSize, visited: &visited) { j in
      (j % rows) * columns + j / rows
    }
  }

  /// Moves `count` pieces of `elementSize` floats: piece j takes the piece
  /// that was at `source(j)`, one cycle of the permutation at a time.
  private static func permute(
    _ base: UnsafeMutablePointer<Float>, count: Int, elementSize: Int, visited: inout BitSet,
    source: (Int) -> Int
  ) {
    visited.reset(count: count)
    let saved = UnsafeMutablePointer<Float>.allocate(capacity: elementSize)
    defer { saved.deallocate() }
    for start in 0..<count where !visited.contains(start) {
      visited.insert(start)
      var j = start
      var i = source(j)
      guard i != start else { continue }
      saved.update(from: base + start * elementSize, count: elementSize)
      while i != start {
        (base + j * elementSize).update(from: base + i * elementSize, count: elementSize)
        visited.insert(i)
        j = i
        i = source(j)
      }
      (base + j * elementSize).update(from: saved, count: elementSize)
    }
  }

  private static func transposeSquare(_ base: UnsafeMutablePointer<Float>, side: Int) {
    for y in 0..<side {
      for x in (y + 1)..<side {
        swap(&base[y * side + x], &base[x * side + y])
      }
    }
  }
}

/// A fixed number of bits, all clear after `reset`.
private struct BitSet {
  private var words: [UInt64] = []

  mutating func reset(count: Int) {
    let needed = (count + 63) / 64
    if words.count < needed {
      words = [UInt64](repeating: 0, count: needed)
    } else {
      for w in 0..<needed { words[w] = 0 }
    }
  }

  func contains(_ i: Int) -> Bool { words[i >> 6] & (1 << UInt64(i & 63)) != 0 }

  mutating func insert(_ i: Int) { words[i >> 6] |= 1 << UInt64(i & 63) }
}
