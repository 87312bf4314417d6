import Tensors
import _CNNKernels

/// 2-D pooling: Keras `MaxPooling2D` and `AveragePooling2D`, and L2 pooling.
///
/// Input (N, C, H, W) → output (N, C, H′, W′), H′ = (H − p) / s + 1 for
/// `.valid` and ceil(H / s) for `.same` (see `Padding`). `strides` defaults
/// to `poolSize`, as in Keras; windows may overlap (size 3, stride 2).
/// Padded cells never count: max ignores them and average and L2 divide by
/// the number of real cells in the window (TensorFlow's behaviour).
/// L2 pooling is sqrt(mean of squares) over the window, the "L2 pooling" of
/// Nielsen's Neural Networks and Deep Learning, chapter 6; its gradient
/// x / (count · y) is taken as zero where y is zero. Max pooling routes
/// the gradient to the first maximum in the window. Max pooling, the one in
/// the hot path, runs in C (`cvz_max_pool_*`); average and L2 use the
/// reference loops in `Pooling2DReference.swift`.
public struct Pooling2D: Layer {
  public enum Reduction: String, Sendable, CaseIterable {
    case max, average, l2
  }

  struct Cache {
    var inputShape: Shape
    var outputShape: Shape
    /// Max pooling: the flat input index that won each output cell.
    var argmax: [Int32]
    /// Average and L2 pooling: the input, for the reference backward.
    var input: Tensor?
  }

  public let reduction: Reduction
  public let poolSize: (height: Int, width: Int)
  public let strides: (y: Int, x: Int)
  public let padding: Padding
  private var cache: Cache?

  public init(
    _ reduction: Reduction, poolSize: (Int, Int) = (2, 2), strides: (Int, Int)? = nil,
    padding: Padding = .valid
  ) {
    let strides = strides ?? poolSize
    precondition(poolSize.0 >= 1 && poolSize.1 >= 1 && strides.0 >= 1 && strides.1 >= 1,
      "pool size and strides must be at least 1")
    self.reduction = reduction
    self.poolSize = poolSize
    self.strides = strides
    self.padding = padding
  }

  public var kind: String {
    switch reduction {
    case .max: "MaxPooling2D"
    case .average: "AveragePooling2D"
    case .l2: "L2Pooling2D"
    }
  }

  func geometry(height: Int, width: Int) -> WindowGeometry {
    WindowGeometry(
      inputHeight: height, inputWidth: width, kernel: (poolSize.height, poolSize.width),
      strides: (strides.y, strides.x), padding: padding)
  }

  public func outputShape(for inputShape: Shape) -> Shape {
    precondition(inputShape.rank == 3, "\(kind) expects (C, H, W), got \(inputShape)")
    let g = geometry(height: inputShape[1], width: inputShape[2])
    return Shape(inputShape[0], g.outputHeight, g.outputWidth)
  }

  public mutating func forward(_ input: Tensor, mode: Mode) -> Tensor {
    precondition(input.shape.rank == 4, "\(kind) expects (N, C, H, W), got \(input.shape)")
    guard reduction == .max else {
      let output = pooling2dForwardReference(
        input: input, reduction: reduction, poolSize: poolSize, strides: strides, padding: padding)
      cache = mode == .training
        ? Cache(inputShape: input.shape, outputShape: output.shape, argmax: [], input: input) : nil
      return output
    }
    precondition(input.count < Int(Int32.max), "\(kind) input too large for 32-bit indices")
    var g = poolGeometry(input.shape)
    let outputShape = Shape(input.shape[0], input.shape[1], Int(g.out_height), Int(g.out_width))
    // Every window writes its winner, so the indices need no zero fill.
    var argmax = [Int32](unsafeUninitializedCapacity: outputShape.count) { _, count in
      count = outputShape.count
    }
    let output = Tensor(uninitialized: outputShape) { y in
      input.storage.withUnsafeBufferPointer { x in
        argmax.withUnsafeMutableBufferPointer { winners in
          cvz_max_pool_forward(&g, x.baseAddress, y.baseAddress, winners.baseAddress)
        }
      }
    }
    cache = mode == .training
      ? Cache(inputShape: input.shape, outputShape: outputShape, argmax: argmax, input: nil) : nil
    return output
  }

  public mutating func backward(_ dOutput: Tensor) -> Tensor {
    guard let cache else { preconditionFailure("\(kind).backward without a training forward") }
    self.cache = nil
    precondition(dOutput.shape == cache.outputShape, "\(kind) dOutput shape mismatch")
    if let input = cache.input {
      return pooling2dBackwardReference(
        input: input, dOutput: dOutput, reduction: reduction, poolSize: poolSize, strides: strides,
        padding: padding)
    }
    var g = poolGeometry(cache.inputShape)
    return Tensor(uninitialized: cache.inputShape) { dx in
      dOutput.storage.withUnsafeBufferPointer { dy in
        cache.argmax.withUnsafeBufferPointer { winners in
          cvz_max_pool_backward(&g, dy.baseAddress, winners.baseAddress, dx.baseAddress)
        }
      }
    }
  }

  /// The C kernels' geometry for pooling an (N, C, H, W) input.
  func poolGeometry(_ shape: Shape) -> cvz_pool_geometry {
    let g = geometry(height: shape[2], width: shape[3])
    return cvz_pool_geometry(
      planes: Int32(shape[0] * shape[1]), in_height: Int32(g.inputHeight),
      in_width: Int32(g.inputWidth), pool_height: Int32(g.kernelHeight),
      pool_width: Int32(g.kernelWidth), stride_y: Int32(g.strideY), stride_x: Int32(g.strideX),
      pad_top: Int32(g.padTop), pad_left: Int32(g.padLeft), out_height: Int32(g.outputHeight),
      out_width: Int32(g.outputWidth))
  }
}
