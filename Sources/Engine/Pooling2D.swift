import Tensors
import _CNNKernels

/// A pooling window: its size, strides and padding, and ONNX's options.
///
/// `dilations` spaces the window's taps; `ceilMode` keeps a last partial
/// window (`WindowGeometry.ceilExtent`); `countIncludePad` makes average
/// pooling divide by the taps inside the padded plane rather than by the
/// real cells only (ONNX `count_include_pad`, PyTorch's default).
public struct PoolWindow: Sendable, Hashable {
  public var height, width: Int
  public var strideY, strideX: Int
  public var padding: Padding
  public var dilationY = 1, dilationX = 1
  public var ceilMode = false
  public var countIncludePad = false

  /// `strides` defaults to the window size, as in Keras.
  public init(
    size: (Int, Int), strides: (Int, Int)? = nil, padding: Padding = .valid,
    dilations: (Int, Int) = (1, 1), ceilMode: Bool = false, countIncludePad: Bool = false
  ) {
    let strides = strides ?? size
    precondition(
      size.0 >= 1 && size.1 >= 1 && strides.0 >= 1 && strides.1 >= 1 && dilations.0 >= 1
        && dilations.1 >= 1,
      "pool size, strides and dilations must be at least 1")
    (height, width) = size
    (strideY, strideX) = strides
    (dilationY, dilationX) = dilations
    self.padding = padding
    self.ceilMode = ceilMode
    self.countIncludePad = countIncludePad
  }

  /// Keras's windows: no dilation, floor sizes, real cells counted.
  public var isPlain: Bool {
    dilationY == 1 && dilationX == 1 && !ceilMode && !countIncludePad
  }

  func geometry(height h: Int, width w: Int) -> WindowGeometry? {
    WindowGeometry(
      inputHeight: h, inputWidth: w, kernel: (height, width), strides: (strideY, strideX),
      padding: padding, dilations: (dilationY, dilationX), ceilMode: ceilMode)
  }

  /// The C kernels' geometry for pooling an (N, C, H, W) input whose shape
  /// inference has accepted.
  func cGeometry(_ shape: Shape) -> cvz_pool_geometry {
    precondition(dilationY == 1 && dilationX == 1, "the C pooling kernels take no dilation")
    let g = WindowGeometry(
      checkedHeight: shape[2], width: shape[3], kernel: (height, width),
      strides: (strideY, strideX), padding: padding, ceilMode: ceilMode)
    return cvz_pool_geometry(
      planes: Int32(shape[0] * shape[1]), in_height: Int32(g.inputHeight),
      in_width: Int32(g.inputWidth), pool_height: Int32(g.kernelHeight),
      pool_width: Int32(g.kernelWidth), stride_y: Int32(g.strideY), stride_x: Int32(g.strideX),
      pad_top: Int32(g.padTop), pad_left: Int32(g.padLeft), out_height: Int32(g.outputHeight),
      out_width: Int32(g.outputWidth))
  }
}

/// 2-D pooling: Keras `MaxPooling2D` and `AveragePooling2D`, and L2 pooling.
///
/// Input (N, C, H, W) → output (N, C, H′, W′), sizes from `Padding`
/// (H′ = (H − p) / s + 1 for `.valid`, ceil(H / s) for `.same`). `strides`
/// defaults to `poolSize`, as in Keras; windows may overlap (size 3,
/// stride 2). Padded cells never count: max ignores them and average and
/// L2 divide by the number of real cells in the window (TensorFlow's
/// behaviour). L2 pooling is sqrt(mean of squares) over the window, the
/// "L2 pooling" of Nielsen's Neural Networks and Deep Learning, chapter 6;
/// its gradient x / (count · y) is taken as zero where y is zero. Max
/// pooling routes the gradient to the first maximum in the window. Max
/// pooling, the one in the hot path, runs in C (`cvz_max_pool_*`), and a
/// convolution before it can fold it into its own pass (`fusionRole`);
/// average pooling runs in C too (`cvz_average_pool_*`, summing in the
/// reference's order, so the two agree bit for bit); L2 and dilated
/// windows use the reference loops in `Pooling2DReference.swift`. In
/// inference, max pooling whose input a oneDNN convolution left in its own
/// layout runs on oneDNN (`OneDNNLayoutOperation`), in that layout.
public struct Pooling2D: Layer {
  public enum Reduction: String, Sendable, CaseIterable {
    case max, average, l2
  }

  struct Cache {
    var inputShape: Shape
    var outputShape: Shape
    /// Max pooling: the flat input index that won each output cell.
    var argmax: [Int32]
    /// L2 and dilated pooling: the input, for the reference backward.
    var input: Tensor?
  }

  public let reduction: Reduction
  public let window: PoolWindow
  private var cache: Cache?
  /// The oneDNN pooling inference last ran on, kept for the next call
  /// with the same input shape and layout.
  var oneDNN: OneDNNPooling?

  public init(
    _ reduction: Reduction, poolSize: (Int, Int) = (2, 2), strides: (Int, Int)? = nil,
    padding: Padding = .valid
  ) {
    self.init(reduction, window: PoolWindow(size: poolSize, strides: strides, padding: padding))
  }

  /// Pooling over `window`, with ONNX's options.
  public init(_ reduction: Reduction, window: PoolWindow) {
    self.reduction = reduction
    self.window = window
  }

  public var poolSize: (height: Int, width: Int) { (window.height, window.width) }
  public var strides: (y: Int, x: Int) { (window.strideY, window.strideX) }
  public var padding: Padding { window.padding }

  public var kind: String {
    switch reduction {
    case .max: "MaxPooling2D"
    case .average: "AveragePooling2D"
    case .l2: "L2Pooling2D"
    }
  }

  /// oneDNN's implementation name when the last inference ran on it.
  public var kernelDescription: String {
    oneDNN.map { "oneDNN \($0.implementation)" } ?? "hand-written kernels"
  }

  public var fusionRole: FusionRole? {
    reduction == .max && window.isPlain ? .maxPooling(window) : nil
  }

  /// Max and average pooling without dilation run in C; the rest on the
  /// reference.
  private var usesReference: Bool {
    reduction == .l2 || window.dilationY != 1 || window.dilationX != 1
  }

  /// The far padding (bottom, right) average pooling with
  /// `countIncludePad` needs.
  private func farPadding(_ shape: Shape) -> (bottom: Int32, right: Int32) {
    let g = window.checkedGeometry(height: shape[2], width: shape[3])
    return (Int32(g.padBottom), Int32(g.padRight))
  }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape {
    guard inputShape.rank == 3 else {
      throw .incompatibleShape(operation: kind, expected: "(C, H, W)", found: [inputShape])
    }
    guard let g = window.geometry(height: inputShape[1], width: inputShape[2]) else {
      throw .windowLargerThanInput(
        windowHeight: window.height, windowWidth: window.width, inputHeight: inputShape[1],
        inputWidth: inputShape[2])
    }
    return Shape(inputShape[0], g.outputHeight, g.outputWidth)
  }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    precondition(input.shape.rank == 4, "\(kind) expects (N, C, H, W), got \(input.shape)")
    guard !usesReference else {
      let output = pooling2dForwardReference(input: input, reduction: reduction, window: window)
      cache =
        mode.keepsCaches
        ? Cache(inputShape: input.shape, outputShape: output.shape, argmax: [], input: input) : nil
      return output
    }
    precondition(input.count < Int(Int32.max), "\(kind) input too large for 32-bit indices")
    var g = window.cGeometry(input.shape)
    if reduction == .average {
      let far = farPadding(input.shape)
      let output = Tensor(
        uninitialized: Shape(input.shape[0], input.shape[1], Int(g.out_height), Int(g.out_width))
      ) { y in
        input.storage.withUnsafeBufferPointer { x in
          cvz_average_pool_forward(
            &g, far.bottom, far.right, window.countIncludePad ? 1 : 0, x.baseAddress,
            y.baseAddress)
        }
      }
      cache =
        mode.keepsCaches
        ? Cache(inputShape: input.shape, outputShape: output.shape, argmax: [], input: nil) : nil
      return output
    }
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
    cache =
      mode.keepsCaches
      ? Cache(inputShape: input.shape, outputShape: outputShape, argmax: argmax, input: nil) : nil
    return output
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    guard let cache else { preconditionFailure("\(kind).backward without a training forward") }
    self.cache = nil
    precondition(dOutput.shape == cache.outputShape, "\(kind) dOutput shape mismatch")
    if let input = cache.input {
      return pooling2dBackwardReference(
        input: input, dOutput: dOutput, reduction: reduction, window: window)
    }
    var g = window.cGeometry(cache.inputShape)
    if reduction == .average {
      let far = farPadding(cache.inputShape)
      return Tensor(uninitialized: cache.inputShape) { dx in
        dOutput.storage.withUnsafeBufferPointer { dy in
          cvz_average_pool_backward(
            &g, far.bottom, far.right, window.countIncludePad ? 1 : 0, dy.baseAddress,
            dx.baseAddress)
        }
      }
    }
    return Tensor(uninitialized: cache.inputShape) { dx in
      dOutput.storage.withUnsafeBufferPointer { dy in
        cache.argmax.withUnsafeBufferPointer { winners in
          cvz_max_pool_backward(&g, dy.baseAddress, winners.baseAddress, dx.baseAddress)
        }
      }
    }
  }
}

extension Pooling2D: OneDNNLayoutOperation {
  func runsOnOneDNN(inputShapes: [Shape]) -> Bool {
    inputShapes.count == 1 && reduction == .max && window.dilationY == 1
      && window.dilationX == 1
  }

  /// Runs on oneDNN only when the input is in a oneDNN layout already: on
  /// NCHW inputs the C kernels are as fast and need no reorder.
  mutating func oneDNNForward(
    _ inputs: [StepValue], folding stages: [FusionRole], keepLayout: Bool
  ) throws(EngineError) -> (output: StepValue, folded: Int)? {
    guard reduction == .max, stages.isEmpty, OneDNN.isUsable, inputs.count == 1,
      case .oneDNN(let tensor) = inputs[0]
    else {
      oneDNN = nil
      return nil
    }
    if oneDNN?.reads(tensor.shape, layout: tensor.layout) != true {
      oneDNN = OneDNNPooling(window: window, inputShape: tensor.shape, inputLayout: tensor.layout)
    }
    guard let oneDNN else { return nil }
    cache = nil
    return (try oneDNN.forward(tensor.storage, keepLayout: keepLayout), 0)
  }
}
