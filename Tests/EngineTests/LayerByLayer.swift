import Engine
import Tensors

/// A chain's operations run one after the other, without the planner's
/// fusion: the reference that plans are checked against.
struct LayerByLayer {
  var operations: [any Operation]

  init(_ network: Network) { operations = network.layers }

  /// Runs the first `count` operations (all by default).
  mutating func forward(_ input: Tensor, mode: Mode, count: Int? = nil) throws -> Tensor {
    var x = input
    for i in 0..<(count ?? operations.count) { x = try operations[i].forward([x], mode: mode) }
    return x
  }

  /// Backpropagates through the first `count` operations; returns dInput.
  mutating func backward(_ dOutput: Tensor, count: Int? = nil) throws -> Tensor {
    var d = dOutput
    for i in (0..<(count ?? operations.count)).reversed() {
      guard let dInput = try operations[i].backward(d, needsInputGradients: [true])[0] else {
        preconditionFailure("an input gradient was asked for")
      }
      d = dInput
    }
    return d
  }

  /// Every parameter gradient, operation by operation.
  mutating func gradients() -> [Tensor] {
    var result: [Tensor] = []
    for i in operations.indices { operations[i].forEachParameter { result.append($0.grad) } }
    return result
  }
}
