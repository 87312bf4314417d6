import Tensors

/// Element-wise sum of inputs of one shape (Keras `Add`, ONNX `Add` without
/// broadcasting), as in a residual block: y = x + f(x).
///
/// Inputs k × (N, ...) → output (N, ...). The gradient of every input is
/// dOutput itself.
public struct Add: Operation {
  public let inputCount: Int

  public init(inputCount: Int = 2) {
    precondition(inputCount >= 2, "Add needs at least two inputs")
    self.inputCount = inputCount
  }

  public var kind: String { "Add" }

  public func outputShape(for inputShapes: [Shape]) throws(EngineError) -> Shape {
    guard inputShapes.count == inputCount else {
      throw .inputCount(operation: kind, expected: inputCount, found: inputShapes.count)
    }
    guard inputShapes.allSatisfy({ $0 == inputShapes[0] }) else {
      throw .incompatibleShape(operation: kind, expected: "inputs of one shape", found: inputShapes)
    }
    return inputShapes[0]
  }

  public mutating func forward(_ inputs: [Tensor], mode: Mode) throws(EngineError) -> Tensor {
    precondition(inputs.count == inputCount, "Add takes \(inputCount) inputs")
    var sum = inputs[0]
    for input in inputs.dropFirst() { sum += input }
    return sum
  }

  public mutating func backward(
    _ dOutput: Tensor, needsInputGradients: [Bool]
  ) throws(EngineError) -> [Tensor?] {
    needsInputGradients.map { $0 ? dOutput : nil }
  }
}

/// The sum in inference on oneDNN's layouts, with a following ReLU folded
/// there, as `Arithmetic`'s.
extension Add: OneDNNLayoutOperation {
  public func canFold(_ stages: [FusionRole]) -> Bool { stages.isEmpty || stages == [.relu] }

  var sumsTwoInputs: Bool { inputCount == 2 }

  func runsOnOneDNN(inputShapes: [Shape]) -> Bool {
    inputShapes.count >= 2 && inputShapes.allSatisfy { $0 == inputShapes[0] && $0.rank == 3 }
  }

  mutating func oneDNNForward(
    _ inputs: [StepValue], folding stages: [FusionRole], keepLayout: Bool
  ) throws(EngineError) -> (output: StepValue, folded: Int)? {
    guard OneDNN.isUsable, let sum = try OneDNNTensor.sum(inputs, relu: stages.first == .relu)
    else { return nil }
    return (keepLayout ? .oneDNN(sum) : .plain(try sum.plain()), stages.isEmpty ? 0 : 1)
  }
}
