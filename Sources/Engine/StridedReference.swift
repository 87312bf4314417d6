import Tensors

/// Plain, element-by-element versions of the operations that walk tensors
/// row by row (`Arithmetic`, `Transpose`): every output element's index is
/// split into coordinates and mapped to each operand's, with no merging of
/// axes, so the tests can hold the fast walks to them.
public enum StridedReference {
  /// The coordinates of flat index `index` in a row-major tensor of `dims`.
  static func coordinates(of index: Int, in dims: [Int]) -> [Int] {
    var rest = index
    var result = [Int](repeating: 0, count: dims.count)
    for axis in dims.indices.reversed() {
      result[axis] = rest % dims[axis]
      rest /= dims[axis]
    }
    return result
  }

  /// The flat index in a tensor of `dims`, right-aligned against output
  /// coordinates `at`, of the element broadcast there.
  static func broadcastIndex(_ at: [Int], into dims: [Int]) -> Int {
    var index = 0
    for (i, dim) in dims.enumerated() {
      index = index * dim + (dim == 1 ? 0 : at[at.count - dims.count + i])
    }
    return index
  }

  /// `left` op `right` under ONNX broadcasting (whole tensors).
  public static func arithmetic(
    _ operation: Arithmetic.Operator, _ left: Tensor, _ right: Tensor
  ) -> Tensor {
    guard let dims = StridedWalk.broadcastDims([left.shape.dims, right.shape.dims]) else {
      preconditionFailure("\(left.shape) and \(right.shape) do not broadcast")
    }
    var output = Tensor(zeros: Shape(dims))
    for i in 0..<output.count {
      let at = coordinates(of: i, in: dims)
      let a = left.storage[broadcastIndex(at, into: left.shape.dims)]
      let b = right.storage[broadcastIndex(at, into: right.shape.dims)]
      switch operation {
      case .add: output.storage[i] = a + b
      case .subtract: output.storage[i] = a - b
      case .multiply: output.storage[i] = a * b
      case .divide: output.storage[i] = a / b
      }
    }
    return output
  }

  /// The gradients of `left` and `right` for `dOutput`, the gradient of
  /// `arithmetic(operation, left, right)`.
  public static func arithmeticGradients(
    _ operation: Arithmetic.Operator, _ left: Tensor, _ right: Tensor, dOutput: Tensor
  ) -> (dLeft: Tensor, dRight: Tensor) {
    var dLeft = Tensor(zeros: left.shape)
    var dRight = Tensor(zeros: right.shape)
    for i in 0..<dOutput.count {
      let at = coordinates(of: i, in: dOutput.shape.dims)
      let ia = broadcastIndex(at, into: left.shape.dims)
      let ib = broadcastIndex(at, into: right.shape.dims)
      let (g, a, b) = (dOutput.storage[i], left.storage[ia], right.storage[ib])
      switch operation {
      case .add:
        dLeft.storage[ia] += g
        dRight.storage[ib] += g
      case .subtract:
        dLeft.storage[ia] += g
        dRight.storage[ib] -= g
      case .multiply:
        dLeft.storage[ia] += g * b
        dRight.storage[ib] += g * a
      case .divide:
        dLeft.storage[ia] += g / b
        dRight.storage[ib] -= g * a / (b * b)
      }
    }
    return (dLeft, dRight)
  }

  /// `x` with output axis i taken from axis `axes[i]` (whole tensors).
  public static func transposed(_ x: Tensor, axes: [Int]) -> Tensor {
    let dims = axes.map { x.shape[$0] }
    var output = Tensor(zeros: Shape(dims))
    for i in 0..<output.count {
      let at = coordinates(of: i, in: dims)
      var source = [Int](repeating: 0, count: dims.count)
      for (k, axis) in axes.enumerated() { source[axis] = at[k] }
      var index = 0
      for axis in source.indices { index = index * x.shape[axis] + source[axis] }
      output.storage[i] = x.storage[index]
    }
    return output
  }
}
