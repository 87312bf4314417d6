import Foundation
import Tensors

/// An element-wise activation layer (Keras `Activation`), or softmax over the
/// features of each sample.
///
/// Any input shape → the same shape. Softmax needs rank 2 (N, F) and is
/// computed with the row maximum subtracted, so large logits do not overflow.
/// When a network ends in softmax, training hands the logits to the
/// cross-entropy loss instead (see `SoftmaxCrossEntropy`), as Keras does;
/// a ReLU can be folded into the convolution before it (`fusionRole`).
public struct Activation: Layer {
  public enum Function: String, Sendable, CaseIterable {
    case linear, relu, sigmoid, tanh, softmax
  }

  struct Cache {
    var output: Tensor
  }

  public let function: Function
  private var cache: Cache?
  /// Guided backpropagation (see `Operation.guidedBackward`): a ReLU then
  /// passes max(dy, 0) where its output is positive.
  public var guidedBackward = false

  /// ReLU has a guided rule and the identity passes its gradient; sigmoid,
  /// tanh and softmax have none.
  public var hasGuidedRule: Bool { function == .relu || function == .linear }

  public init(_ function: Function) {
    self.function = function
  }

  public var kind: String { "Activation" }

  public var profileName: String { "Activation(\(function.rawValue))" }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape {
    guard function != .softmax || inputShape.rank == 1 else {
      throw .incompatibleShape(
        operation: "softmax", expected: "flat features (add Flatten first)", found: [inputShape])
    }
    return inputShape
  }

  public var fusionRole: FusionRole? {
    switch function {
    case .relu: .relu
    case .softmax: .softmax
    case .linear, .sigmoid, .tanh: nil
    }
  }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    var output = input
    output.storage.withUnsafeMutableBufferPointer { y in
      switch function {
      case .relu:
        for i in 0..<y.count where !(y[i] > 0) { y[i] = 0 }
      case .sigmoid:
        for i in 0..<y.count { y[i] = 1 / (1 + Foundation.exp(-y[i])) }
      case .tanh:
        for i in 0..<y.count { y[i] = Foundation.tanh(y[i]) }
      case .softmax:
        precondition(input.shape.rank == 2, "softmax expects (N, F), got \(input.shape)")
        Activation.softmaxRows(y, features: input.shape[1])
      case .linear:
        break
      }
    }
    cache = mode.keepsCaches && function != .linear ? Cache(output: output) : nil
    return output
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    if function == .linear { return dOutput }
    guard let cache else { preconditionFailure("Activation.backward without a training forward") }
    self.cache = nil
    precondition(dOutput.shape == cache.output.shape, "Activation dOutput shape mismatch")
    var dInput = dOutput
    dInput.storage.withUnsafeMutableBufferPointer { d in
      cache.output.storage.withUnsafeBufferPointer { y in
        switch function {
        case .relu:
          if guidedBackward {
            for i in 0..<d.count where !(y[i] > 0 && d[i] > 0) { d[i] = 0 }
          } else {
            for i in 0..<d.count where !(y[i] > 0) { d[i] = 0 }
          }
        case .sigmoid:
          for i in 0..<d.count { d[i] *= y[i] * (1 - y[i]) }
        case .tanh:
          for i in 0..<d.count { d[i] *= 1 - y[i] * y[i] }
        case .softmax:
          // dx_i = y_i (dy_i − Σ_j dy_j y_j), the softmax Jacobian-vector product.
          let f = dOutput.shape[1]
          for row in 0..<(d.count / f) {
            var dot: Float = 0
            for j in 0..<f { dot += d[row * f + j] * y[row * f + j] }
            for j in 0..<f { d[row * f + j] = y[row * f + j] * (d[row * f + j] - dot) }
          }
        case .linear:
          break
        }
      }
    }
    return dInput
  }

  /// Replaces each row of `values` (rows of `features`) by its softmax.
  package static func softmaxRows(_ values: UnsafeMutableBufferPointer<Float>, features f: Int) {
    for row in 0..<(values.count / f) {
      let base = row * f
      var largest = -Float.infinity
      for j in 0..<f { largest = max(largest, values[base + j]) }
      var sum: Float = 0
      for j in 0..<f {
        let e = Foundation.exp(values[base + j] - largest)
        values[base + j] = e
        sum += e
      }
      for j in 0..<f { values[base + j] /= sum }
    }
  }
}

extension Tensor {
  /// max(x, 0) element-wise: the part of a gradient guided backpropagation
  /// lets through a rectifier.
  var positivePart: Tensor {
    var copy = self
    copy.storage.withUnsafeMutableBufferPointer { v in
      for i in 0..<v.count where !(v[i] > 0) { v[i] = 0 }
    }
    return copy
  }
}
