/// Visits a row-major output tensor row by row, with the offset of the
/// matching element of each operand: the index arithmetic of broadcasting,
/// transposing and padding in one place.
///
/// Operands are given by their stride along each output axis (0 where an
/// operand is broadcast). Axes of size 1 are dropped and neighbours that
/// step through every operand alike are merged, so the rows are as long as
/// the layouts allow: a per-channel scale over (N, C, H, W) walks N·C rows
/// of H·W elements.
struct StridedWalk {
  /// Merged axes; the last one is the row.
  let dims: [Int]
  /// Per operand, its stride along each merged axis.
  let strides: [[Int]]

  /// A walk of an output of `dims` reading operands with `strides`
  /// (one stride per output axis for each).
  init(dims: [Int], strides: [[Int]]) {
    var mergedDims: [Int] = []
    var mergedStrides = [[Int]](repeating: [], count: strides.count)
    for axis in dims.indices.reversed() where dims[axis] != 1 {
      if let last = mergedDims.first,
        strides.indices.allSatisfy({ strides[$0][axis] == mergedStrides[$0][0] * last })
      {
        mergedDims[0] *= dims[axis]
      } else {
        mergedDims.insert(dims[axis], at: 0)
        for k in strides.indices { mergedStrides[k].insert(strides[k][axis], at: 0) }
      }
    }
    if mergedDims.isEmpty {
      mergedDims = [1]
      mergedStrides = strides.map { _ in [0] }
    }
    self.dims = mergedDims
    self.strides = mergedStrides
  }

  /// A walk of the broadcast of operands of `shapes` (ONNX
  /// multidirectional broadcasting: right-aligned, size-1 axes repeat) onto
  /// `output`, which must be their broadcast.
  init(broadcasting shapes: [[Int]], onto output: [Int]) {
    self.init(
      dims: output, strides: shapes.map { Self.broadcastStrides(of: $0, onto: output) })
  }

  /// The broadcast of `shapes`, or nil when two of them disagree on an axis
  /// where neither is 1.
  static func broadcastDims(_ shapes: [[Int]]) -> [Int]? {
    let rank = shapes.map(\.count).max() ?? 0
    var result = [Int](repeating: 1, count: rank)
    for shape in shapes {
      for (i, dim) in shape.enumerated() {
        let axis = rank - shape.count + i
        if dim == result[axis] || dim == 1 { continue }
        guard result[axis] == 1 else { return nil }
        result[axis] = dim
      }
    }
    return result
  }

  /// Strides of a row-major tensor of `dims` along the axes of `output`,
  /// right-aligned, 0 on axes where it is broadcast.
  static func broadcastStrides(of dims: [Int], onto output: [Int]) -> [Int] {
    var strides = [Int](repeating: 0, count: output.count)
    var step = 1
    for i in dims.indices.reversed() {
      let axis = output.count - dims.count + i
      strides[axis] = dims[i] == 1 ? 0 : step
      step *= dims[i]
    }
    return strides
  }

  /// The length of each row.
  var rowLength: Int { dims[dims.count - 1] }

  /// Each operand's stride within a row.
  var rowStrides: [Int] { strides.map { $0[$0.count - 1] } }

  /// Calls `body(row, offsets)` for each row, in order: the row's first
  /// output element is `row · rowLength`, and `offsets[k]` is where
  /// operand k's first element of that row is.
  func forEachRow(_ body: (_ row: Int, _ offsets: [Int]) -> Void) {
    let outer = dims.count - 1
    let rows = dims[..<outer].reduce(1, *)
    var index = [Int](repeating: 0, count: outer)
    var offsets = [Int](repeating: 0, count: strides.count)
    for row in 0..<rows {
      body(row, offsets)
      // Odometer over the outer axes, last fastest.
      var axis = outer - 1
      while axis >= 0 {
        index[axis] += 1
        for k in offsets.indices { offsets[k] += strides[k][axis] }
        if index[axis] < dims[axis] { break }
        for k in offsets.indices { offsets[k] -= strides[k][axis] * dims[axis] }
        index[axis] = 0
        axis -= 1
      }
    }
  }
}
