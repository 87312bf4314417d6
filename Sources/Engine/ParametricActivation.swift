import Tensors

/// An element-wise activation with parameters (ONNX `LeakyRelu`, `Clip`,
/// `HardSigmoid`, `HardSwish`), as MobileNetV2 (ReLU6) and V3 (hard
/// sigmoid and hard swish) use them. The parameterless activations (ReLU,
/// sigmoid, tanh, softmax) stay `Activation`, which model specs name.
///
/// Any input shape → the same shape. Backward reads the cached input:
/// - leaky ReLU: y = x for x ≥ 0, αx otherwise; dy/dx = 1 or α.
/// - clip: y = min(max(x, low), high); dy/dx = 1 strictly inside, else 0
///   (PyTorch's hardtanh). ReLU6 is clip(0, 6).
/// - hard sigmoid: y = max(0, min(1, αx + β)); dy/dx = α strictly inside.
/// - hard swish: y = x · max(0, min(1, x/6 + 1/2)); dy/dx = 0 below −3,
///   1 above 3, (2x + 3)/6 between
///   (https://onnx.ai/onnx/operators/onnx__HardSwish.html).
///
/// Guided backpropagation (`guidedBackward`) is defined for the rectifiers,
/// leaky ReLU and clip (ReLU6): the positive part of the incoming gradient
/// times the derivative above, max(dy, 0) · dy/dx, which is Springenberg et
/// al.'s rule for ReLU; hard sigmoid and hard swish have none.
public struct ParametricActivation: Layer {
  public enum Function: Sendable, Equatable {
    case leakyRelu(alpha: Float)
    case clip(low: Float, high: Float)
    case hardSigmoid(alpha: Float, beta: Float)
    case hardSwish
  }

  struct Cache {
    var input: Tensor
  }

  public let function: Function
  private var cache: Cache?
  public var guidedBackward = false

  /// A clip can be folded into the convolution before it in inference
  /// on oneDNN (`Conv2D.canFold`).
  public var fusionRole: FusionRole? {
    if case .clip(let low, let high) = function { return .clip(low: low, high: high) }
    return nil
  }

  public var hasGuidedRule: Bool {
    switch function {
    case .leakyRelu, .clip: true
    case .hardSigmoid, .hardSwish: false
    }
  }

  public init(_ function: Function) {
    self.function = function
  }

  public var kind: String {
    switch function {
    case .leakyRelu: "LeakyReLU"
    case .clip(0, 6): "ReLU6"
    case .clip: "Clip"
    case .hardSigmoid: "HardSigmoid"
    case .hardSwish: "HardSwish"
    }
  }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape { inputShape }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    cache = mode.keepsCaches ? Cache(input: input) : nil
    var output = input
    output.storage.withUnsafeMutableBufferPointer { y in
      switch function {
      case .leakyRelu(let alpha):
        for i in 0..<y.count where y[i] < 0 { y[i] *= alpha }
      case .clip(let low, let high):
        for i in 0..<y.count { y[i] = min(max(y[i], low), high) }
      case .hardSigmoid(let alpha, let beta):
        for i in 0..<y.count { y[i] = min(max(alpha * y[i] + beta, 0), 1) }
      case .hardSwish:
        for i in 0..<y.count { y[i] *= min(max(y[i] / 6 + 0.5, 0), 1) }
      }
    }
    return output
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    guard let cache else {
      preconditionFailure("ParametricActivation.backward without a training forward")
    }
    self.cache = nil
    precondition(dOutput.shape == cache.input.shape, "ParametricActivation dOutput shape mismatch")
    var dInput = dOutput
    dInput.storage.withUnsafeMutableBufferPointer { d in
      if guidedBackward && hasGuidedRule {
        for i in 0..<d.count where !(d[i] > 0) { d[i] = 0 }
      }
      cache.input.storage.withUnsafeBufferPointer { x in
        switch function {
        case .leakyRelu(let alpha):
          for i in 0..<d.count where x[i] < 0 { d[i] *= alpha }
        case .clip(let low, let high):
          for i in 0..<d.count where !(x[i] > low && x[i] < high) { d[i] = 0 }
        case .hardSigmoid(let alpha, let beta):
          for i in 0..<d.count {
            let z = alpha * x[i] + beta
            d[i] = z > 0 && z < 1 ? d[i] * alpha : 0
          }
        case .hardSwish:
          for i in 0..<d.count {
            d[i] *= x[i] < -3 ? 0 : x[i] > 3 ? 1 : (2 * x[i] + 3) / 6
          }
        }
      }
    }
    return dInput
  }
}
