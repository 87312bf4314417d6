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
  }

  deinit { cvz_dnnl_train_conv_destroy(pointer) }

  /// The convolution of `input` (rectified when made with relu).
  func forward(_ input: Tensor, kernel: Tensor, bias: Tensor) throws(EngineError) -> Tensor {
    var status = CVZ_STATUS_OK
    let shape = Shape(
      Int(geometry.batch), Int(geometry.out_channels), Int(geometry.out_height),
      Int(geometry.out_width))
    let output = Tensor(uninitialized: shape) { y in
      input.storage.withUnsafeBufferPointer { x in
        kernel.storage.withUnsafeBufferPointer { k in
          bias.storage.withUnsafeBufferPointer { b in
            status = cvz_dnnl_train_conv_forward(
              pointer, x.baseAddress, k.baseAddress, b.baseAddress, y.baseAddress)
          }
        }
      }
    }
    try EngineError.check(status, operation: "Conv2D forward (oneDNN)")
    return output
  }

  /// Adds the kernel and bias gradients into `dKernel` and `dBias` and
  /// returns the input gradient (empty unless `needsInputGradient`);
  /// `reluOutput` is the rectified forward output when the layer folded a
  /// ReLU.
  func backward(
    input: Tensor, kernel: Tensor, dOutput: Tensor, reluOutput: Tensor?,
    needsInputGradient: Bool, dKernel: inout Tensor, dBias: inout Tensor
  ) throws(EngineError) -> Tensor {
    var dInput = Tensor(uninitialized: needsInputGradient ? input.shape : Shape(0)) { _ in }
    var status = CVZ_STATUS_OK
    let mask = reluOutput ?? Tensor(zeros: Shape(0))
    input.storage.withUnsafeBufferPointer { x in
      kernel.storage.withUnsafeBufferPointer { k in
        dOutput.storage.withUnsafeBufferPointer { dy in
          mask.storage.withUnsafeBufferPointer { y in
            dInput.storage.withUnsafeMutableBufferPointer { dx in
              dKernel.storage.withUnsafeMutableBufferPointer { dk in
                dBias.storage.withUnsafeMutableBufferPointer { db in
                  status = cvz_dnnl_train_conv_backward(
                    pointer, x.baseAddress, k.baseAddress, dy.baseAddress,
                    reluOutput == nil ? nil : y.baseAddress,
                    needsInputGradient ? dx.baseAddress : nil, dk.baseAddress, db.baseAddress)
                }
              }
            }
          }
        }
      }
    }
    try EngineError.check(status, operation: "Conv2D backward (oneDNN)")
    return dInput
  }
}

extension Conv2D {
  /// The training convolution (rectified when `stages` starts with a ReLU)
  /// on oneDNN, or nil when the mode is not training or `OneDNNTraining`
  /// leaves the layer to the hand-written kernels. Max pooling is never
  /// folded here: the caller pools. The primitives are made on the first
  /// call for a shape and kept.
  mutating func oneDNNTrainingForward(
    _ input: Tensor, mode: Mode, stages: [FusionRole]
  ) throws(EngineError) -> Tensor? {
    guard mode == .training, OneDNNTraining.takes(groupedGeometry(input.shape))
    else {
      oneDNNTraining = nil
      return nil
    }
    let g = geometry(input.shape)
    let key = OneDNNTrainingConvolution.Key(inputShape: input.shape, relu: stages.first == .relu)
    if oneDNNTraining?.key != key {
      oneDNNTraining = OneDNNTrainingConvolution(geometry: g, key: key)
    }
    guard let primitives = oneDNNTraining else { return nil }
    let output = try primitives.forward(input, kernel: kernel.value, bias: bias.value)
    cache = Cache(
      input: input, geometry: g, output: key.relu ? output : nil, savedInput: [],
      trainedOnOneDNN: primitives)
    return output
  }

  /// Backward for a forward that ran on oneDNN. oneDNN's backward always
  /// computes the weight gradients; without `needsParameterGradients` they
  /// go to scratch tensors.
  mutating func oneDNNTrainingBackward(
    _ dOutput: Tensor, cache: Cache, primitives: OneDNNTrainingConvolution,
    needsInputGradient: Bool, needsParameterGradients: Bool
  ) throws(EngineError) -> Tensor {
    guard needsParameterGradients else {
      var dKernel = Tensor(zeros: kernel.value.shape)
      var dBias = Tensor(zeros: bias.value.shape)
      return try primitives.backward(
        input: cache.input, kernel: kernel.value, dOutput: dOutput, reluOutput: cache.output,
        needsInputGradient: needsInputGradient, dKernel: &dKernel, dBias: &dBias)
    }
    return try primitives.backward(
      input: cache.input, kernel: kernel.value, dOutput: dOutput, reluOutput: cache.output,
      needsInputGradient: needsInputGradient, dKernel: &kernel.grad, dBias: &bias.grad)
  }
}
