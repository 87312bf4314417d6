import Synchronization
import Tensors
import _DNNLKernels
import _Runtime

/// oneDNN (Debian's libdnnl), the fast path for inference convolutions.
///
/// Its just-in-time kernels use the widest instruction set the CPU has
/// (AVX-512 where present; oneDNN's own `DNNL_MAX_CPU_ISA=AVX2` caps it),
/// where `_CNNKernels` stops at AVX2. `Conv2D` takes it in `.inference`
/// mode only, whose results need not be bit-identical across thread
/// counts; training and gradients keep `_CNNKernels`, which stay the
/// reference the oneDNN path is tested against. The convviz executable
/// turns it off with `CONVVIZ_DNNL=0`.
public enum OneDNN {
  private static let enabled = Atomic<Bool>(true)
  private static let leaving = Atomic<Bool>(true)

  /// Whether inference may use oneDNN (true unless set false).
  public static var isEnabled: Bool {
    get { enabled.load(ordering: .relaxed) }
    set { enabled.store(newValue, ordering: .relaxed) }
  }

  /// Whether the small convolutions the hand-written direct kernels run
  /// well stay on them (`OneDNNConvolution.kernelsKeep`), and Dense layers
  /// under 4M weights on OpenBLAS; true unless set false, which sends every
  /// convolution and Dense layer oneDNN can make to it, as tests need.
  public static var leavesSmallConvolutionsToKernels: Bool {
    get { leaving.load(ordering: .relaxed) }
    set { leaving.store(newValue, ordering: .relaxed) }
  }

  private static let dense = Atomic<Bool>(true)

  /// Whether Dense layers run on oneDNN's inner product in inference (true
  /// unless set false, as tests do to compare it with OpenBLAS).
  public static var runsDenseLayers: Bool {
    get { dense.load(ordering: .relaxed) }
    set { dense.store(newValue, ordering: .relaxed) }
  }

  /// Whether the library's CPU engine could be created.
  public static var isAvailable: Bool { cvz_dnnl_available() != 0 }

  /// Why the library cannot be used, one line naming it (e.g. "libdnnl
  /// (libdnnl.so.2) cannot be loaded: …"), or nil when it can.
  public static var unavailableReason: String? {
    let reason = String(cString: cvz_dnnl_failure())
    return reason.isEmpty ? nil : reason
  }

  /// The instruction set oneDNN's kernels use here ("avx512_core",
  /// "avx2", …), after any `DNNL_MAX_CPU_ISA` cap.
  public static var instructionSet: String { String(cString: cvz_dnnl_isa()) }

  /// The library's version, e.g. "2.6.3".
  public static var version: String { String(cString: cvz_dnnl_version()) }

  /// Whether operations should try oneDNN now: enabled, available, and
  /// with AVX2 or wider kernels.
  static var isUsable: Bool {
    isEnabled && isAvailable && instructionSet.hasPrefix("avx")
  }
}

/// A oneDNN convolution made for one input shape and one set of weights,
/// owned by the `Conv2D` that made it.
final class OneDNNConvolution: @unchecked Sendable {
  // @unchecked: `pointer` is never reassigned and the C side serialises
  // every call on it; the pinned tensors are immutable values.

  struct Key: Equatable {
    var inputShape: Shape
    var relu: Bool
    var threads: Int32
  }

  /// Whether the hand-written kernels keep this convolution: a plain one
  /// (no groups, no dilation) that their direct AVX2 kernels take (one
  /// input channel, or channel counts that are multiples of 8) with fewer
  /// than 20M multiply-adds an image (and Dense layers under 4M weights
  /// stay on OpenBLAS). Measured: the seed's MNIST network
  /// (whose convolution + pooling the kernels fuse) ran slower on oneDNN,
  /// and every larger layer of ResNet-18 and VGG-16 faster. A rule of the
  /// geometry, not a timing, so that the same model always takes the same
  /// path.
  static func kernelsKeep(_ g: cvz_grouped_conv_geometry) -> Bool {
    let b = g.base
    guard OneDNN.leavesSmallConvolutionsToKernels, g.groups == 1, g.dilation_y == 1,
      g.dilation_x == 1, b.in_channels == 1 || (b.in_channels % 8 == 0 && b.out_channels % 8 == 0)
    else { return false }
    return multiplyAddsPerImage(g) < 20_000_000
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
    let made = kernel.storage.withUnsafeBufferPointer { k in
      bias.storage.withUnsafeBufferPointer { b in
        cvz_dnnl_conv_create(&g, k.baseAddress, b.baseAddress, key.relu ? 1 : 0)
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
}
