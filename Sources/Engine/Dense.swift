import Tensors
import _CNNKernels
import _Runtime

/// A fully connected layer (Keras `Dense` without its activation):
/// y = x·W + b.
///
/// Input (N, in) → output (N, units). The kernel (in, units) is "kernel" and
/// the bias (units) is "bias", as in Keras. The products run through
/// `cvz_sgemm` (OpenBLAS, rows cut into chunks on the `_Runtime` threads);
/// `denseForwardReference` is the naive loop it is tested against. Inference
/// of a layer with at least 4M weights (VGG's, not convviz's own small
/// networks, whose predictions keep training's bits) runs on oneDNN's
/// inner product when it is usable (`OneDNN`), reading the same kernel in
/// place.
public struct Dense: Layer {
  struct Cache {
    var input: Tensor
  }

  public let inputFeatures: Int
  public let units: Int
  public var kernel: Parameter
  public var bias: Parameter
  private var cache: Cache?
  /// The oneDNN inner product inference last ran on (`OneDNN`), kept for
  /// the next call with the same batch size.
  var oneDNN: OneDNNInnerProduct?

  public var kind: String { "Dense" }

  /// oneDNN's implementation name when the last inference ran on it.
  public var kernelDescription: String {
    oneDNN.map { "oneDNN \($0.implementation)" } ?? "OpenBLAS"
  }

  /// A layer with a Glorot-uniform kernel drawn from `generator` and zero bias.
  public init(
    inputFeatures: Int, units: Int, generator: inout SeededGenerator
  ) {
    let kernel = GlorotUniform.sample(
      shape: Shape(inputFeatures, units), fanIn: inputFeatures, fanOut: units, using: &generator)
    self.init(kernel: kernel, bias: Tensor(zeros: Shape(units)))
  }

  /// A layer with the given `kernel` (in, units) and `bias` (units).
  public init(kernel: Tensor, bias: Tensor) {
    precondition(kernel.shape.rank == 2, "Dense kernel must be (in, units)")
    precondition(bias.shape == Shape(kernel.shape[1]), "Dense bias must be (units)")
    inputFeatures = kernel.shape[0]
    units = kernel.shape[1]
    self.kernel = Parameter(name: "kernel", value: kernel)
    self.bias = Parameter(name: "bias", value: bias)
  }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape {
    guard inputShape == Shape(inputFeatures) else {
      throw .incompatibleShape(
        operation: kind, expected: "(\(inputFeatures)) features (add Flatten first)",
        found: [inputShape])
    }
    return Shape(units)
  }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    precondition(
      input.shape.rank == 2 && input.shape[1] == inputFeatures,
      "Dense expects (N, \(inputFeatures)), got \(input.shape)")
    let n = input.shape[0]
    if mode != .training, OneDNN.isUsable, OneDNN.runsDenseLayers,
      !OneDNN.leavesSmallConvolutionsToKernels || inputFeatures * units >= 4_000_000
    {
      if oneDNN?.batch != n || oneDNN?.threads != cvz_threads() {
        oneDNN = OneDNNInnerProduct(batch: n, inputs: inputFeatures, units: units)
      }
      if let oneDNN {
        cache = mode.keepsCaches ? Cache(input: input) : nil
        return try oneDNN.forward(input, kernel: kernel.value, bias: bias.value)
      }
    } else {
      oneDNN = nil
    }
    var output = Tensor(uninitialized: Shape(n, units)) { _ in }
    let (k, m) = (Int32(inputFeatures), Int32(units))
    input.storage.withUnsafeBufferPointer { x in
      kernel.value.storage.withUnsafeBufferPointer { w in
        output.storage.withUnsafeMutableBufferPointer { y in
          cvz_sgemm(
            0, 0, Int32(n), m, k, 1, x.baseAddress, k, w.baseAddress, m, 0, y.baseAddress, m)
          for row in 0..<n {
            for j in 0..<units { y[row * units + j] += bias.value.storage[j] }
          }
        }
      }
    }
    cache = mode.keepsCaches ? Cache(input: input) : nil
    return output
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    backward(dOutput, needsInputGradient: true, needsParameterGradients: true)
  }

  public mutating func backwardParametersOnly(_ dOutput: Tensor) throws(EngineError) {
    _ = backward(dOutput, needsInputGradient: false, needsParameterGradients: true)
  }

  public mutating func backward(
    _ dOutput: Tensor, needsInputGradients: [Bool], needsParameterGradients: Bool
  ) throws(EngineError) -> [Tensor?] {
    precondition(needsInputGradients.count == 1, "Dense has one input")
    guard needsInputGradients[0] || needsParameterGradients else {
      cache = nil
      return [nil]
    }
    let dInput = backward(
      dOutput, needsInputGradient: needsInputGradients[0],
      needsParameterGradients: needsParameterGradients)
    return [needsInputGradients[0] ? dInput : nil]
  }

  /// The input gradient (empty unless `needsInputGradient`), adding into
  /// the kernel and bias gradients with `needsParameterGradients`.
  private mutating func backward(
    _ dOutput: Tensor, needsInputGradient: Bool, needsParameterGradients: Bool
  ) -> Tensor {
    guard let cache else { preconditionFailure("Dense.backward without a training forward") }
    self.cache = nil
    let n = cache.input.shape[0]
    precondition(dOutput.shape == Shape(n, units), "Dense dOutput must be (\(n), \(units))")
    let (k, m) = (Int32(inputFeatures), Int32(units))
    var dInput = Tensor(uninitialized: needsInputGradient ? cache.input.shape : Shape(0)) { _ in }
    cache.input.storage.withUnsafeBufferPointer { x in
      dOutput.storage.withUnsafeBufferPointer { dy in
        Parameter.withGradients(of: &kernel, &bias, if: needsParameterGradients) { dw, db in
          guard let dw, let db else { return }
          // dW (in, units) += xᵀ (in, N) · dY (N, units)
          cvz_sgemm(1, 0, k, m, Int32(n), 1, x.baseAddress, k, dy.baseAddress, m, 1, dw, m)
          for row in 0..<n {
            for j in 0..<units { db[j] += dy[row * units + j] }
          }
        }
        guard needsInputGradient else { return }
        kernel.value.storage.withUnsafeBufferPointer { w in
          dInput.storage.withUnsafeMutableBufferPointer { dx in
            // dX (N, in) = dY (N, units) · Wᵀ (units, in)
            cvz_sgemm(
              0, 1, Int32(n), k, m, 1, dy.baseAddress, m, w.baseAddress, m, 0, dx.baseAddress, k)
          }
        }
      }
    }
    return dInput
  }

  public mutating func forEachParameter(_ body: (inout Parameter) -> Void) {
    body(&kernel)
    body(&bias)
  }
}

/// The naive Dense forward pass: y[n,j] = b[j] + Σ_i x[n,i]·W[i,j], in Double.
public func denseForwardReference(input: Tensor, kernel: Tensor, bias: Tensor) -> Tensor {
  let (n, inputs, units) = (input.shape[0], kernel.shape[0], kernel.shape[1])
  var output = Tensor(zeros: Shape(n, units))
  for row in 0..<n {
    for j in 0..<units {
      var sum = Double(bias.storage[j])
      for i in 0..<inputs {
        sum += Double(input.storage[row * inputs + i]) * Double(kernel.storage[i * units + j])
      }
      output.storage[row * units + j] = Float(sum)
    }
  }
  return output
}
