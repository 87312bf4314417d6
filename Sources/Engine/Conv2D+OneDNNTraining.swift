import Synchronization
import Tensors
import _CNNKernels
import _DNNLKernels
import _Runtime

/// Training convolutions on oneDNN (`cvz_dnnl_train.h`): forward, backward
/// data and backward weights of a plain `Conv2D`, chunk by chunk, so that a
/// run gives the same bits whatever the thread count.
public enum OneDNNTraining {
  private static let enabled = Atomic<Bool>(true)
  private static let everywhere = Atomic<Bool>(false)
  private static let winograd = Atomic<Bool>(true)
  private static let layouts = Atomic<Bool>(true)

  /// Whether training may run convolutions on oneDNN (true unless set
  /// false; `OneDNN.isEnabled` false turns it off too).
  public static var isEnabled: Bool {
    get { enabled.load(ordering: .relaxed) }
    set { enabled.store(newValue, ordering: .relaxed) }
  }

  /// Whether every plain convolution oneDNN can make goes to it, whatever
  /// the instruction set and shape (false unless set, as tests need to
  /// reach the AVX2 path and the small shapes).
  public static var takesEveryConvolution: Bool {
    get { everywhere.load(ordering: .relaxed) }
    set { everywhere.store(newValue, ordering: .relaxed) }
  }

  /// Whether the layers `prefersWinograd` picks ask oneDNN for Winograd
  /// (true unless set false, as the executable does for
  /// `CONVVIZ_WINOGRAD=0`, to compare with the direct kernels). Read when a
  /// layer makes its primitives for a shape.
  public static var usesWinograd: Bool {
    get { winograd.load(ordering: .relaxed) }
    set { winograd.store(newValue, ordering: .relaxed) }
  }

  /// Whether a convolution read only by a next convolution on oneDNN hands
  /// it its output in its oneDNN layout, and gets the gradient back in it
  /// (`ExecutionPlan.Step.keepsOneDNNTrainingLayout`), instead of both
  /// going through NCHW (true unless set false). The same bits either way:
  /// a reorder only moves floats.
  public static var keepsLayouts: Bool {
    get { layouts.load(ordering: .relaxed) }
    set { layouts.store(newValue, ordering: .relaxed) }
  }

  /// The instruction set oneDNN's training kernels use here, after any
  /// `DNNL_MAX_CPU_ISA` cap ("avx512_core", "avx2", or "none").
  public static var instructionSet: String { String(cString: cvz_dnnl_train_isa()) }

  /// Whether a training convolution of geometry `g` runs on oneDNN: a plain
  /// one (no groups, no dilation) with 2 or more input channels, on an
  /// AVX-512 CPU. Measured side by side on cifar-cnn's and mnist-cnn's
  /// layers (`bench/train_conv_kernels.sh`): there oneDNN's AVX-512 kernels
  /// take about half the hand-written AVX2 kernels' time for the layers
  /// with 32 or 64 input channels and two thirds for cifar-cnn's first
  /// (3 channels, `same`); mnist-cnn's one-channel first layer, which the
  /// hand-written kernels take on a path of its own, is faster there, and
  /// at AVX2 oneDNN's direct kernels do not beat the hand-written ones. A
  /// rule of the geometry and the CPU, not a timing, so that the same run
  /// always takes the same path.
  static func takes(_ g: cvz_grouped_conv_geometry) -> Bool {
    guard isEnabled, OneDNN.isEnabled, g.groups == 1, g.dilation_y == 1, g.dilation_x == 1
    else { return false }
    let isa = instructionSet
    guard isa.hasPrefix("avx") else { return false }
    if takesEveryConvolution { return true }
    return isa.hasPrefix("avx512") && g.base.in_channels >= 2
  }

  /// Whether a pass of geometry `g` asks for Winograd: 3×3, stride 1, and
  /// channel counts that are multiples of 16 (oneDNN's Winograd kernels
  /// take 16 channels a vector; it falls back to direct per pass where it
  /// has none, as below AVX-512), unless `usesWinograd` is off.
  static func prefersWinograd(_ g: cvz_conv_geometry) -> Bool {
    usesWinograd && g.kernel_height == 3 && g.kernel_width == 3 && g.stride_y == 1
      && g.stride_x == 1 && g.in_channels % 16 == 0 && g.out_channels % 16 == 0
  }
}

/// oneDNN training primitives made for one input shape, owned by the
/// `Conv2D` that made them and kept while the shape stays.
final class OneDNNTrainingConvolution: @unchecked Sendable {
  // @unchecked: `pointer` is never reassigned, and a layer's forward and
  // backward never run at the same time.

  struct Key: Equatable {
    var inputShape: Shape
    var relu: Bool
  }

  let key: Key
  private let pointer: OpaquePointer
  private var geometry: cvz_conv_geometry

  /// oneDNN's names for the implementations of forward, backward data and
  /// backward weights ("jit_wino_4x3:avx512_core", "jit:avx512_core", …).
  let implementations: [String]
  /// The layout forward can leave its output in for a next convolution
  /// (its primitive's own, channel-blocked), or nil when it cannot (the
  /// output is then always NCHW).
  let outputLayout: OneDNNLayout?
  /// Whether max pooling folds into the passes (`forward(_:kernel:bias:pooling:)`).
  let pools: Bool

  init?(geometry: cvz_conv_geometry, key: Key) {
    var g = geometry
    guard
      let made = cvz_dnnl_train_conv_create(
        &g, key.relu ? 1 : 0, OneDNNTraining.prefersWinograd(g) ? 1 : 0, 1)
    else { return nil }
    pointer = made
    self.geometry = geometry
    self.key = key
    implementations = (0..<3).map { String(cString: cvz_dnnl_train_conv_implementation(made, $0)) }
    outputLayout = OneDNNLayout(cvz_dnnl_train_conv_output_layout(made))
    pools = cvz_dnnl_train_conv_pools(made) != 0
  }

  deinit { cvz_dnnl_train_conv_destroy(pointer) }

  /// `value` as this convolution reads it: as it is when its layout is NCHW
  /// or one the training kernels cut into images, else reordered to NCHW.
  static func readable(_ value: StepValue) throws(EngineError) -> StepValue {
    guard case .oneDNN(let tensor) = value, cvz_dnnl_train_takes_layout(tensor.layout.pointer) == 0
    else { return value }
    return .plain(try tensor.plain())
  }

  /// The convolution of `input` (NCHW or a layout `readable` leaves),
  /// rectified when made with relu; NCHW, or in `outputLayout` when
  /// `keepLayout` and there is one.
  func forward(
    _ input: StepValue, kernel: Tensor, bias: Tensor, keepLayout: Bool
  ) throws(EngineError) -> StepValue {
    var status = CVZ_STATUS_OK
    let shape = Shape(
      Int(geometry.batch), Int(geometry.out_channels), Int(geometry.out_height),
      Int(geometry.out_width))
    let layout = keepLayout ? outputLayout : nil
    func run(_ y: UnsafeMutableBufferPointer<Float>) {
      input.withFloats { inputLayout, x in
        kernel.storage.withUnsafeBufferPointer { k in
          bias.storage.withUnsafeBufferPointer { b in
            status = cvz_dnnl_train_conv_forward(
              pointer, inputLayout, x.baseAddress, k.baseAddress, b.baseAddress,
              layout == nil ? 0 : 1, y.baseAddress)
          }
        }
      }
    }
    let output: StepValue =
      if let layout {
        .oneDNN(OneDNNTensor(shape: shape, layout: layout, run))
      } else {
        .plain(Tensor(uninitialized: shape, initializer: run))
      }
    try EngineError.check(status, operation: "Conv2D forward (oneDNN)")
    return output
  }

  /// The convolution of `input` (as for the forward above, rectified when
  /// made with relu) max-pooled with `pool` in the same pass (`pools` must
  /// be true), NCHW, and each pooled cell's winner for `backward`.
  func forward(
    _ input: StepValue, kernel: Tensor, bias: Tensor, pooling pool: cvz_pool_geometry
  ) throws(EngineError) -> (output: Tensor, winners: [Int32]) {
    precondition(pools, "max pooling does not fold into this convolution")
    var pool = pool
    let shape = Shape(
      Int(geometry.batch), Int(geometry.out_channels), Int(pool.out_height), Int(pool.out_width))
    var winners = [Int32](repeating: 0, count: shape.count)
    var status = CVZ_STATUS_OK
    let output = Tensor(uninitialized: shape) { y in
      input.withFloats { inputLayout, x in
        kernel.storage.withUnsafeBufferPointer { k in
          bias.storage.withUnsafeBufferPointer { b in
            winners.withUnsafeMutableBufferPointer { w in
              status = cvz_dnnl_train_conv_forward_pooled(
                pointer, inputLayout, x.baseAddress, k.baseAddress, b.baseAddress, &pool,
                y.baseAddress, w.baseAddress)
            }
          }
        }
      }
    }
    try EngineError.check(status, operation: "Conv2D forward with max pooling (oneDNN)")
    return (output, winners)
  }

  /// Adds the kernel and bias gradients into `dKernel` and `dBias` and
  /// returns the input gradient in the input's layout (nil unless
  /// `needsInputGradient`). `input` is what forward read, `reluOutput` the
  /// rectified forward output when the layer folded a ReLU (unread with
  /// `pooling`, the pooled forward's geometry and winners, which record
  /// where the ReLU cut); `dOutput` is in the layout of the output forward
  /// gave.
  func backward(
    input: StepValue, kernel: Tensor, dOutput: StepValue, reluOutput: StepValue?,
    pooling: Conv2D.FoldedPooling? = nil, needsInputGradient: Bool, dKernel: inout Tensor,
    dBias: inout Tensor
  ) throws(EngineError) -> StepValue? {
    var status = CVZ_STATUS_OK
    func run(_ dx: UnsafeMutableBufferPointer<Float>?) {
      input.withFloats { inputLayout, x in
        kernel.storage.withUnsafeBufferPointer { k in
          dOutput.withFloats { outputLayout, dy in
            (reluOutput ?? .plain(Tensor(zeros: Shape(0)))).withFloats { _, y in
              dKernel.storage.withUnsafeMutableBufferPointer { dk in
                dBias.storage.withUnsafeMutableBufferPointer { db in
                  let mask = reluOutput == nil ? nil : y.baseAddress
                  guard var pool = pooling?.geometry else {
                    status = cvz_dnnl_train_conv_backward(
                      pointer, inputLayout, x.baseAddress, k.baseAddress, outputLayout,
                      dy.baseAddress, mask, dx?.baseAddress, dk.baseAddress, db.baseAddress)
                    return
                  }
                  pooling?.winners.withUnsafeBufferPointer { w in
                    status = cvz_dnnl_train_conv_backward_pooled(
                      pointer, inputLayout, x.baseAddress, k.baseAddress, &pool, w.baseAddress,
                      dy.baseAddress, dx?.baseAddress, dk.baseAddress, db.baseAddress)
                  }
                }
              }
            }
          }
        }
      }
    }
    var dInput: StepValue? = nil
    switch (needsInputGradient, input) {
    case (false, _): run(nil)
    case (true, .plain(let x)): dInput = .plain(Tensor(uninitialized: x.shape) { run($0) })
    case (true, .oneDNN(let x)):
      dInput = .oneDNN(OneDNNTensor(shape: x.shape, layout: x.layout) { run($0) })
    }
    try EngineError.check(status, operation: "Conv2D backward (oneDNN)")
    return dInput
  }
}

extension StepValue {
  /// Calls `body` with the layout's C pointer (nil for NCHW) and the floats.
  fileprivate func withFloats<R>(
    _ body: (OpaquePointer?, UnsafeBufferPointer<Float>) -> R
  ) -> R {
    switch self {
    case .plain(let tensor):
      tensor.storage.withUnsafeBufferPointer { body(nil, $0) }
    case .oneDNN(let tensor):
      withExtendedLifetime(tensor.layout) {
        tensor.storage.withUnsafeBufferPointer { body(tensor.layout.pointer, $0) }
      }
    }
  }
}

/// What a training forward on oneDNN leaves for its backward.
struct OneDNNTrainingRun {
  let primitives: OneDNNTrainingConvolution
  /// The input forward read, in the layout it read it in.
  let input: StepValue
  /// The layout of the output forward gave (nil: NCHW), in which backward
  /// reads its gradient.
  let outputLayout: OneDNNLayout?
  /// The rectified output (pooled, with pooling folded), whose mask a
  /// folded ReLU needs.
  let reluOutput: StepValue?
  var pooling: Conv2D.FoldedPooling? = nil
}

extension Conv2D {
  /// The training convolution (rectified when `stages` starts with a ReLU,
  /// max-pooled when they end with max pooling and the primitives' layout
  /// lets them pool) on oneDNN and how many stages it folded, or nil when
  /// the mode is not training or `OneDNNTraining` leaves the layer to the
  /// hand-written kernels. The primitives are made on the first call for a
  /// shape and kept. `input` may be in the layout a convolution before
  /// left it in; the output stays in this one's with `keepLayout` (for a
  /// next convolution; never when pooled).
  mutating func oneDNNTrainingForward(
    _ input: StepValue, mode: Mode, stages: [FusionRole], keepLayout: Bool = false
  ) throws(EngineError) -> (output: StepValue, folded: Int)? {
    guard mode == .training, OneDNNTraining.takes(groupedGeometry(input.shape))
    else {
      oneDNNTraining = nil
      return nil
    }
    let g = geometry(input.shape)
    let relu = stages.first == .relu
    let key = OneDNNTrainingConvolution.Key(inputShape: input.shape, relu: relu)
    if oneDNNTraining?.key != key {
      oneDNNTraining = OneDNNTrainingConvolution(geometry: g, key: key)
    }
    guard let primitives = oneDNNTraining else { return nil }
    let folded = relu ? 1 : 0
    let read = try OneDNNTrainingConvolution.readable(input)
    cache = nil
    if case .maxPooling(let window) = stages.last, primitives.pools {
      let pool = window.cGeometry(Shape(1, filters, Int(g.out_height), Int(g.out_width)))
      let (output, winners) = try primitives.forward(
        read, kernel: kernel.value, bias: bias.value, pooling: pool)
      oneDNNTrainingRun = OneDNNTrainingRun(
        primitives: primitives, input: read, outputLayout: nil,
        reluOutput: relu ? .plain(output) : nil,
        pooling: Conv2D.FoldedPooling(geometry: pool, winners: winners))
      return (.plain(output), stages.count)
    }
    // Guided backward takes the positive part of an NCHW gradient.
    let output = try primitives.forward(
      read, kernel: kernel.value, bias: bias.value,
      keepLayout: keepLayout && stages.count == folded && !guidedBackward)
    var outputLayout: OneDNNLayout? = nil
    if case .oneDNN(let tensor) = output { outputLayout = tensor.layout }
    oneDNNTrainingRun = OneDNNTrainingRun(
      primitives: primitives, input: read, outputLayout: outputLayout,
      reluOutput: relu ? output : nil)
    return (output, folded)
  }

  /// Backward for a forward that ran on oneDNN, as `backward(_:needsInputGradients:needsParameterGradients:)`
  /// (nil when the last forward did not run on it): the input gradient in
  /// the layout forward read the input in. oneDNN's backward always
  /// computes the weight gradients; without `needsParameterGradients` they
  /// go to scratch tensors.
  mutating func oneDNNTrainingBackward(
    _ dOutput: StepValue, needsInputGradients: [Bool], needsParameterGradients: Bool
  ) throws(EngineError) -> [StepValue?]? {
    guard let run = oneDNNTrainingRun else { return nil }
    oneDNNTrainingRun = nil
    let needsInputGradient = needsInputGradients[0]
    guard needsInputGradient || needsParameterGradients else { return [nil] }
    var dOutput: StepValue =
      if let layout = run.outputLayout { .oneDNN(try dOutput.laidOut(as: layout)) } else {
        .plain(try dOutput.plain())
      }
    if guidedBackward, run.reluOutput != nil { dOutput = .plain(try dOutput.plain().positivePart) }
    guard needsParameterGradients else {
      var dKernel = Tensor(zeros: kernel.value.shape)
      var dBias = Tensor(zeros: bias.value.shape)
      return [
        try run.primitives.backward(
          input: run.input, kernel: kernel.value, dOutput: dOutput, reluOutput: run.reluOutput,
          pooling: run.pooling, needsInputGradient: needsInputGradient, dKernel: &dKernel,
          dBias: &dBias)
      ]
    }
    return [
      try run.primitives.backward(
        input: run.input, kernel: kernel.value, dOutput: dOutput, reluOutput: run.reluOutput,
        pooling: run.pooling, needsInputGradient: needsInputGradient, dKernel: &kernel.grad,
        dBias: &bias.grad)
    ]
  }
}
