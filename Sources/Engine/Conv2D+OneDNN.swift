import Tensors
import _CNNKernels
import _DNNLKernels
import _Runtime

/// A oneDNN convolution made for one input shape and one set of weights,
/// owned by the `Conv2D` that made it.
final class OneDNNConvolution: @unchecked Sendable {
  // @unchecked: `pointer` is never reassigned and the C side serialises
  // every call on it; the pinned tensors are immutable values.

  struct Key: Equatable {
    var inputShape: Shape
    var activation: Activation
    var threads: Int32
    /// Whether the output's previous contents are added before the
    /// activation (`forward(_:adding:)`).
    var sum = false
  }

  /// The activation applied to the output in the same pass (a oneDNN
  /// post-op).
  enum Activation: Equatable {
    case none, relu
    case clip(low: Float, high: Float)

    /// The activation `stages` start with that the convolution folds in
    /// `mode`: a ReLU always (backward knows it through the cached output),
    /// a clip only in `.inference`.
    init(_ stages: [FusionRole], mode: Mode) {
      switch stages.first {
      case .relu: self = .relu
      case .clip(let low, let high) where mode == .inference: self = .clip(low: low, high: high)
      default: self = .none
      }
    }
  }

  /// Whether the hand-written kernels keep this convolution: a plain one
  /// (no groups, no dilation) wider than 1×1 that their direct AVX2
  /// kernels take (one input channel, or channel counts that are multiples
  /// of 8) with fewer than 20M multiply-adds an image (and Dense layers
  /// under 4M weights stay on OpenBLAS), and that oneDNN has no Winograd
  /// for here (`asksForWinograd`). Measured: the seed's MNIST network
  /// (whose convolution + pooling the kernels fuse) ran slower on oneDNN's
  /// direct kernels, and every larger layer of ResNet-18 and VGG-16
  /// faster. 1×1 convolutions (MobileNetV2's expansions and projections,
  /// ResNet's shortcuts, SqueezeNet's squeezes) sit between oneDNN
  /// operations in the networks that have them: on the kernels each cost a reorder to
  /// NCHW and back, and MobileNetV2's took 25 of its 41 ms. A rule of the
  /// geometry, not a timing, so that the same model always takes the same
  /// path.
  static func kernelsKeep(_ g: cvz_grouped_conv_geometry) -> Bool {
    let b = g.base
    guard OneDNN.leavesSmallConvolutionsToKernels, !asksForWinograd(g), g.groups == 1,
      g.dilation_y == 1, g.dilation_x == 1, b.kernel_height * b.kernel_width > 1,
      b.in_channels == 1 || (b.in_channels % 8 == 0 && b.out_channels % 8 == 0)
    else { return false }
    return isSmall(g)
  }

  /// Whether inference asks oneDNN for Winograd: a plain layer under 20M
  /// multiply-adds an image that training would run on Winograd
  /// (`OneDNNTraining.prefersWinograd`: 3×3, stride 1, 16·k channels,
  /// unless `CONVVIZ_WINOGRAD=0`), on an AVX-512 CPU. Such layers leave the
  /// hand-written kernels: `convviz evaluate` of a cifar-cnn model on
  /// CIFAR-10's 10,000 test images took 4.4–5.1 s against 6.1–6.6 s on the
  /// kernels, of a mnist-cnn model on MNIST's 1.4–1.6 s against 1.9 s
  /// (`CONVVIZ_WINOGRAD=0` for the kernels' figures; whole commands, the
  /// data loaded from the cache). Larger layers stay on oneDNN's direct
  /// kernels: on Winograd, ResNet-18 and VGG-16 ran in 0.4–0.7× of
  /// onnxruntime's time instead of 0.95–1.1×, but Winograd's weights (4×
  /// the kernel's) and scratch took VGG-16's `predict` from 659 to 795 MiB
  /// at its peak, over the 1.3× its 528 MiB of weights that loading keeps
  /// to (`bench/inference_vs_onnxruntime.sh`, `bench/load_memory.sh`).
  static func asksForWinograd(_ g: cvz_grouped_conv_geometry) -> Bool {
    g.groups == 1 && g.dilation_y == 1 && g.dilation_x == 1
      && OneDNNTraining.prefersWinograd(g.base) && OneDNN.instructionSet.hasPrefix("avx512")
      && isSmall(g)
  }

  /// Under 20M multiply-adds an image: the layers both rules above keep
  /// from oneDNN's direct kernels.
  static func isSmall(_ g: cvz_grouped_conv_geometry) -> Bool {
    multiplyAddsPerImage(g) < 20_000_000
  }

  static func multiplyAddsPerImage(_ g: cvz_grouped_conv_geometry) -> Int {
    Int(g.base.out_height) * Int(g.base.out_width) * Int(g.base.out_channels)
      * Int(g.base.kernel_height) * Int(g.base.kernel_width) * Int(g.base.in_channels)
      / Int(g.groups)
  }

  let key: Key
  /// The weights it was made from: holding them makes any later write to
  /// the layer's weights copy them (copy-on-write), so `matches` sees the
  /// change by their address.
  private let kernel: Tensor
  private let bias: Tensor
  private let pointer: OpaquePointer

  /// oneDNN's name for the implementation it chose ("jit:avx512_core", …).
  let implementation: String
  /// The layout it writes its output in.
  let outputLayout: OneDNNLayout

  init?(
    geometry: cvz_grouped_conv_geometry, key: Key, kernel: Tensor, bias: Tensor
  ) {
    var g = geometry
    var post = cvz_dnnl_activation(
      kind: CVZ_DNNL_NO_ACTIVATION, low: 0, high: 0, sum: key.sum ? 1 : 0)
    switch key.activation {
    case .none: break
    case .relu: post.kind = CVZ_DNNL_RELU
    case .clip(let low, let high):
      (post.kind, post.low, post.high) = (CVZ_DNNL_CLIP, low, high)
    }
    let made = kernel.storage.withUnsafeBufferPointer { k in
      bias.storage.withUnsafeBufferPointer { b in
        cvz_dnnl_conv_create(
          &g, k.baseAddress, b.baseAddress, post, Self.asksForWinograd(geometry) ? 1 : 0)
      }
    }
    guard let made else { return nil }
    guard let layout = OneDNNLayout(cvz_dnnl_conv_output_layout(made)) else {
      cvz_dnnl_conv_destroy(made)
      return nil
    }
    pointer = made
    outputLayout = layout
    implementation = String(cString: cvz_dnnl_conv_implementation(made))
    self.key = key
    self.kernel = kernel
    self.bias = bias
  }

  deinit { cvz_dnnl_conv_destroy(pointer) }

  /// Whether this convolution is the one for `key` with these weights.
  func matches(_ key: Key, kernel: Tensor, bias: Tensor) -> Bool {
    key == self.key && Self.sameStorage(kernel, self.kernel) && Self.sameStorage(bias, self.bias)
  }

  private static func sameStorage(_ a: Tensor, _ b: Tensor) -> Bool {
    a.storage.withUnsafeBufferPointer { x in
      b.storage.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress }
    }
  }

  /// The convolution of `input`, whose shape is `key.inputShape`, in any
  /// layout; the output in NCHW, or in `outputLayout` with `keepLayout`.
  func forward(
    _ input: StepValue, outputShape: Shape, keepLayout: Bool
  ) throws(EngineError) -> StepValue {
    var status = CVZ_STATUS_OK
    func run(_ y: UnsafeMutableBufferPointer<Float>) {
      switch input {
      case .plain(let tensor):
        tensor.storage.withUnsafeBufferPointer { x in
          status = cvz_dnnl_conv_run(pointer, nil, x.baseAddress, keepLayout ? 1 : 0, y.baseAddress)
        }
      case .oneDNN(let tensor):
        tensor.storage.withUnsafeBufferPointer { x in
          status = cvz_dnnl_conv_run(
            pointer, tensor.layout.pointer, x.baseAddress, keepLayout ? 1 : 0, y.baseAddress)
        }
      }
    }
    let output: StepValue =
      keepLayout
      ? .oneDNN(OneDNNTensor(shape: outputShape, layout: outputLayout, run))
      : .plain(Tensor(uninitialized: outputShape, initializer: run))
    try EngineError.check(status, operation: "Conv2D forward (oneDNN)")
    return output
  }

  /// The convolution of `input` (any layout) plus `addend` (of the output's
  /// shape, in `outputLayout`), activated, written over the addend's
  /// storage (copied first only when something else holds it). Made with
  /// `key.sum`.
  func forward(
    _ input: StepValue, adding addend: consuming OneDNNTensor
  ) throws(EngineError) -> OneDNNTensor {
    precondition(key.sum && addend.layout.isSame(as: outputLayout), "not a sum into this layout")
    var output = addend
    var status = CVZ_STATUS_OK
    output.storage.withUnsafeMutableBufferPointer { y in
      switch input {
      case .plain(let tensor):
        tensor.storage.withUnsafeBufferPointer { x in
          status = cvz_dnnl_conv_run(pointer, nil, x.baseAddress, 1, y.baseAddress)
        }
      case .oneDNN(let tensor):
        tensor.storage.withUnsafeBufferPointer { x in
          status = cvz_dnnl_conv_run(
            pointer, tensor.layout.pointer, x.baseAddress, 1, y.baseAddress)
        }
      }
    }
    try EngineError.check(status, operation: "Conv2D forward with a sum (oneDNN)")
    return output
  }
}

/// Inference convolutions on oneDNN: the layer's dispatch to
/// `OneDNNConvolution`, in NCHW or, between oneDNN operations
/// (`OneDNNLayoutOperation`), in oneDNN's own layouts.
extension Conv2D: OneDNNLayoutOperation {
  /// The inference convolution (rectified when `stages` starts with a
  /// ReLU, clipped when with a clip in `.inference`) on oneDNN, and how
  /// many stages it folded; or nil when that path is off, the mode is training,
  /// oneDNN cannot make it, or the layer is one the hand-written kernels
  /// keep (`OneDNNConvolution.kernelsKeep`). The primitive is made on the
  /// first call for a shape and kept. The choice depends on the geometry
  /// alone, so `.inference` and `.inferenceWithGradients` (whose backward
  /// runs on the kernels from the cached input) give the same bits, and a
  /// model gives the same outputs as its ONNX or Keras export.
  ///
  /// `input` may be in a oneDNN layout (from the oneDNN operation before,
  /// `.inference` only); the output stays in the convolution's layout with
  /// `keepLayout`.
  mutating func oneDNNForward(
    _ input: StepValue, mode: Mode, stages: [FusionRole], keepLayout: Bool = false
  ) throws(EngineError) -> (output: StepValue, folded: Int)? {
    let g = groupedGeometry(input.shape)
    guard mode != .training, OneDNN.isUsable, !OneDNNConvolution.kernelsKeep(g) else {
      oneDNN = nil
      return nil
    }
    oneDNNTraining = nil  // as on the kernels: inference drops training's primitives
    let activation = OneDNNConvolution.Activation(stages, mode: mode)
    let relu = activation == .relu
    let key = OneDNNConvolution.Key(
      inputShape: input.shape, activation: activation, threads: cvz_threads())
    if oneDNN?.matches(key, kernel: kernel.value, bias: bias.value) != true {
      oneDNN = OneDNNConvolution(geometry: g, key: key, kernel: kernel.value, bias: bias.value)
    }
    guard let oneDNN else { return nil }
    let output = try oneDNN.forward(
      input,
      outputShape: Shape(input.shape[0], filters, Int(g.base.out_height), Int(g.base.out_width)),
      keepLayout: keepLayout && !mode.keepsCaches)
    cache =
      mode.keepsCaches
      ? Cache(
        input: try input.plain(), geometry: g.base, output: relu ? try output.plain() : nil,
        savedInput: [])
      : nil
    return (output, activation == .none ? 0 : 1)
  }

  /// The convolution of `input` plus `addend` (a residual block's sum, in
  /// `.inference`), rectified with `relu`, as one oneDNN convolution with a
  /// sum post-op that writes over the addend (reordered into the
  /// convolution's layout first when it is in another); the output in that
  /// layout with `keepLayout`, else NCHW. Only for a convolution that
  /// `preparesResidualSum` said runs on oneDNN (the caller otherwise runs
  /// the convolution and the sum as steps).
  mutating func oneDNNForward(
    _ input: StepValue, adding addend: consuming StepValue, relu: Bool, keepLayout: Bool
  ) throws(EngineError) -> StepValue {
    guard let oneDNN = residualConvolution(inputShape: input.shape, relu: relu) else {
      preconditionFailure("the convolution was not prepared for a residual sum on oneDNN")
    }
    let target = try (consume addend).laidOut(as: oneDNN.outputLayout)
    let output = try oneDNN.forward(input, adding: target)
    cache = nil
    return keepLayout ? .oneDNN(output) : .plain(try output.plain())
  }

  /// Whether `oneDNNForward(_:adding:relu:keepLayout:)` runs on oneDNN for
  /// inputs of `inputShape`, making its convolution when needed.
  mutating func preparesResidualSum(inputShape: Shape, relu: Bool) -> Bool {
    residualConvolution(inputShape: inputShape, relu: relu) != nil
  }

  private mutating func residualConvolution(inputShape: Shape, relu: Bool) -> OneDNNConvolution? {
    let g = groupedGeometry(inputShape)
    guard OneDNN.isUsable, !OneDNNConvolution.kernelsKeep(g) else { return nil }
    let key = OneDNNConvolution.Key(
      inputShape: inputShape, activation: relu ? .relu : .none, threads: cvz_threads(), sum: true)
    if oneDNN?.matches(key, kernel: kernel.value, bias: bias.value) != true {
      oneDNN = OneDNNConvolution(geometry: g, key: key, kernel: kernel.value, bias: bias.value)
    }
    return oneDNN
  }

  /// oneDNN's implementation name when the last inference ran on it.
  public var kernelDescription: String {
    if let oneDNN { return "oneDNN \(oneDNN.implementation)" }
    return isGrouped ? "hand-written grouped kernels" : "hand-written kernels"
  }

  func runsOnOneDNN(inputShapes: [Shape]) -> Bool {
    inputShapes.count == 1
      && !OneDNNConvolution.kernelsKeep(groupedGeometry(Shape([1] + inputShapes[0].dims)))
  }

  mutating func oneDNNForward(
    _ inputs: [StepValue], folding stages: [FusionRole], keepLayout: Bool
  ) throws(EngineError) -> (output: StepValue, folded: Int)? {
    precondition(inputs.count == 1 && canFold(stages), "Conv2D cannot fold \(stages)")
    return try oneDNNForward(inputs[0], mode: .inference, stages: stages, keepLayout: keepLayout)
  }
}
