import Tensors
import _CNNKernels
import _Runtime

/// A 2-D convolution layer (Keras `Conv2D` without its activation):
/// cross-correlation plus bias.
///
/// Input (N, cin, H, W) → output (N, filters, H′, W′), sizes from `Padding`
/// (H′ = (H − kh) / sh + 1 for `.valid`, ceil(H / sh) for `.same`). The
/// kernel is stored in Keras's HWIO layout (kh, kw, cin, filters), named
/// "kernel"; the bias (filters) is "bias". The work runs in
/// `cvz_conv2d_forward/backward` (direct AVX2 kernels, or per-image im2col
/// GEMMs, on the `_Runtime` threads); `conv2dForwardReference` is the naive loop they
/// are tested against. In training the direct path keeps the padded
/// channels-last input copy it builds in forward for backward. Inference
/// convolutions may run on oneDNN instead (`Conv2D+OneDNN.swift`), and
/// training ones on AVX-512 (`Conv2D+OneDNNTraining.swift`, which folds
/// max pooling too, and hands a next convolution its output in oneDNN's
/// layout).
///
/// A following ReLU and max pooling can be folded into the output pass
/// (`canFold`, decided once by the planner): the ReLU saves two full passes
/// over the activations, and pooling each image while its maps are in cache
/// means the full-size maps are never stored. Pooling folds only when the
/// direct path takes whole images per worker (at least two images); for
/// other batches the caller pools separately.
///
/// `groups` splits the channels (ONNX `group`, Keras `groups`): group g
/// reads input channels g·cin/G ..< (g+1)·cin/G and writes the matching
/// slice of the filters, and the kernel is (kh, kw, cin / groups, filters);
/// groups == cin is a depthwise convolution. `dilations` spaces the
/// kernel's taps. Grouped or dilated layers (imported models) run on
/// `cvz_grouped_conv2d_*` (a direct depthwise loop, else im2col GEMMs per
/// group) and fold a ReLU but never pooling; the others keep the paths
/// above, unchanged.
public struct Conv2D: Layer {
  struct Cache {
    var input: Tensor
    var geometry: cvz_conv_geometry
    /// The rectified output (pooled, with pooling folded) whose mask a
    /// folded ReLU needs in backward.
    var output: Tensor?
    /// The fast path's padded channels-last copy of `input`, which backward
    /// would otherwise build again (empty when the path keeps none).
    var savedInput: [Float]
    var pooling: FoldedPooling? = nil
  }

  /// A max pooling folded into the convolution's pass: its geometry and
  /// each pooled cell's winner, where backward sends the cell's gradient
  /// (an index private to the kernels that pooled).
  struct FoldedPooling {
    var geometry: cvz_pool_geometry
    var winners: [Int32]
  }

  public let filters: Int
  public let kernelSize: (height: Int, width: Int)
  public let strides: (y: Int, x: Int)
  public let padding: Padding
  /// Channel groups (1: every filter reads every input channel).
  public let groups: Int
  /// The spacing of the kernel's taps, (1, 1) for adjacent cells.
  public let dilations: (y: Int, x: Int)
  public let inputChannels: Int
  /// Whether a batch normalisation was folded into the weights
  /// (`folding(_:)`), for summaries; it changes nothing else.
  public internal(set) var foldedBatchNormalization = false
  public var kernel: Parameter
  public var bias: Parameter
  var cache: Cache?
  /// The oneDNN convolution inference last ran on (`Conv2D+OneDNN.swift`),
  /// kept for the next call with the same input shape and weights.
  var oneDNN: OneDNNConvolution?
  /// The oneDNN training primitives training last ran on, kept for the
  /// next batch of the same shape.
  var oneDNNTraining: OneDNNTrainingConvolution?
  /// What the last training forward on oneDNN left for backward (instead
  /// of `cache`; `Conv2D+OneDNNTraining.swift`).
  var oneDNNTrainingRun: OneDNNTrainingRun?
  /// Guided backpropagation through a folded ReLU (see
  /// `Operation.guidedBackward`): backward passes max(dy, 0) where the
  /// output is positive. Max pooling is then not folded, so that the ReLU
  /// sees the pooled gradients summed, as it does unfolded.
  public var guidedBackward = false

  public var kind: String { "Conv2D" }

  /// A layer with a Glorot-uniform kernel drawn from `generator` and zero bias.
  public init(
    inputChannels: Int, filters: Int, kernelSize: (Int, Int), strides: (Int, Int) = (1, 1),
    padding: Padding = .valid, generator: inout SeededGenerator
  ) {
    let (kh, kw) = kernelSize
    let kernel = GlorotUniform.sample(
      shape: Shape(kh, kw, inputChannels, filters), fanIn: kh * kw * inputChannels,
      fanOut: kh * kw * filters, using: &generator)
    self.init(
      kernel: kernel, bias: Tensor(zeros: Shape(filters)), strides: strides, padding: padding)
  }

  /// A layer with the given HWIO `kernel` (kh, kw, cin / groups, filters)
  /// and `bias` (filters); `filters` must be a multiple of `groups`.
  public init(
    kernel: Tensor, bias: Tensor, strides: (Int, Int) = (1, 1), padding: Padding = .valid,
    groups: Int = 1, dilations: (Int, Int) = (1, 1)
  ) {
    precondition(kernel.shape.rank == 4, "Conv2D kernel must be (kh, kw, cin, filters)")
    precondition(bias.shape == Shape(kernel.shape[3]), "Conv2D bias must be (filters)")
    precondition(strides.0 >= 1 && strides.1 >= 1, "Conv2D strides must be at least 1")
    precondition(dilations.0 >= 1 && dilations.1 >= 1, "Conv2D dilations must be at least 1")
    precondition(
      groups >= 1 && kernel.shape[3] % groups == 0, "Conv2D filters must divide into groups")
    filters = kernel.shape[3]
    kernelSize = (kernel.shape[0], kernel.shape[1])
    inputChannels = kernel.shape[2] * groups
    self.strides = strides
    self.padding = padding
    self.groups = groups
    self.dilations = dilations
    self.kernel = Parameter(name: "kernel", value: kernel)
    self.bias = Parameter(name: "bias", value: bias)
  }

  private func window(height: Int, width: Int) -> WindowGeometry? {
    WindowGeometry(
      inputHeight: height, inputWidth: width, kernel: (kernelSize.height, kernelSize.width),
      strides: (strides.y, strides.x), padding: padding, dilations: (dilations.y, dilations.x))
  }

  /// Whether the layer takes the grouped/dilated path.
  var isGrouped: Bool { groups != 1 || dilations != (1, 1) }

  public func outputShape(for inputShape: Shape) throws(EngineError) -> Shape {
    guard inputShape.rank == 3 && inputShape[0] == inputChannels else {
      throw .incompatibleShape(
        operation: kind, expected: "(\(inputChannels), H, W)", found: [inputShape])
    }
    guard let g = window(height: inputShape[1], width: inputShape[2]) else {
      throw .windowLargerThanInput(
        windowHeight: kernelSize.height, windowWidth: kernelSize.width,
        inputHeight: inputShape[1], inputWidth: inputShape[2])
    }
    return Shape(filters, g.outputHeight, g.outputWidth)
  }

  /// The C kernels' geometry for an (N, cin, H, W) input.
  func geometry(_ shape: Shape) -> cvz_conv_geometry {
    precondition(
      shape.rank == 4 && shape[1] == inputChannels,
      "Conv2D expects (N, \(inputChannels), H, W), got \(shape)")
    let (height, width) = (shape[2], shape[3])
    guard let window = window(height: height, width: width) else {
      preconditionFailure("Conv2D kernel \(kernelSize) is larger than the \(height)x\(width) input")
    }
    return cvz_conv_geometry(
      batch: Int32(shape[0]), in_channels: Int32(inputChannels), in_height: Int32(height),
      in_width: Int32(width), out_channels: Int32(filters),
      kernel_height: Int32(kernelSize.height), kernel_width: Int32(kernelSize.width),
      stride_y: Int32(strides.y), stride_x: Int32(strides.x), pad_top: Int32(window.padTop),
      pad_left: Int32(window.padLeft), out_height: Int32(window.outputHeight),
      out_width: Int32(window.outputWidth))
  }

  public mutating func forward(_ input: Tensor, mode: Mode) throws(EngineError) -> Tensor {
    try forward([input], mode: mode, folding: []).output
  }

  /// Takes a ReLU, max pooling, or a ReLU then max pooling; or a clip
  /// alone, which only inference on oneDNN folds (elsewhere it runs on its
  /// own after the convolution).
  public func canFold(_ stages: [FusionRole]) -> Bool {
    if stages.count == 1, case .clip = stages[0] { return true }
    var rest = stages[...]
    if rest.first == .relu { rest = rest.dropFirst() }
    if case .maxPooling = rest.first, !guidedBackward { rest = rest.dropFirst() }
    return rest.isEmpty
  }

  public mutating func forward(
    _ inputs: [Tensor], mode: Mode, folding stages: [FusionRole]
  ) throws(EngineError) -> (output: Tensor, folded: Int) {
    precondition(inputs.count == 1 && canFold(stages), "Conv2D cannot fold \(stages)")
    oneDNNTrainingRun = nil
    if let (output, folded) = try oneDNNForward(.plain(inputs[0]), mode: mode, stages: stages) {
      return (try output.plain(), folded)
    }
    if let (output, folded) = try oneDNNTrainingForward(
      .plain(inputs[0]), mode: mode, stages: stages)
    {
      return (try output.plain(), folded)
    }
    return try kernelsForward(inputs[0], mode: mode, stages: stages)
  }

  /// `forward(_:mode:folding:)` on the hand-written kernels.
  private mutating func kernelsForward(
    _ input: Tensor, mode: Mode, stages: [FusionRole]
  ) throws(EngineError) -> (output: Tensor, folded: Int) {
    let relu = stages.first == .relu
    if case .maxPooling(let window) = stages.last, !isGrouped {
      var g = geometry(input.shape)
      if cvz_conv2d_pooling_fuses(&g) != 0 {
        return (try forward(input, mode: mode, relu: relu, pooling: window), stages.count)
      }
    }
    return (try forward(input, mode: mode, relu: relu), relu ? 1 : 0)
  }

  /// Room for the fast path's padded channels-last input copy, kept for
  /// backward: empty in inference, or when the path keeps none.
  private static func savedInputBuffer(
    for g: inout cvz_conv_geometry, mode: Mode
  ) -> [Float] {
    let count = mode.keepsCaches ? cvz_conv2d_saved_input_floats(&g) : 0
    return [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
  }

  /// The convolution, rectified in its output pass with `relu`; backward
  /// then expects the gradient of the rectified output.
  private mutating func forward(
    _ input: Tensor, mode: Mode, relu: Bool
  ) throws(EngineError) -> Tensor {
    if isGrouped { return try groupedForward(input, mode: mode, relu: relu) }
    var g = geometry(input.shape)
    var savedInput = Self.savedInputBuffer(for: &g, mode: mode)
    var status = CVZ_STATUS_OK
    let output = Tensor(
      uninitialized: Shape(input.shape[0], filters, Int(g.out_height), Int(g.out_width))
    ) { y in
      input.storage.withUnsafeBufferPointer { x in
        kernel.value.storage.withUnsafeBufferPointer { k in
          bias.value.storage.withUnsafeBufferPointer { b in
            savedInput.withUnsafeMutableBufferPointer { saved in
              status = cvz_conv2d_forward(
                &g, x.baseAddress, k.baseAddress, b.baseAddress, relu ? 1 : 0, y.baseAddress,
                saved.isEmpty ? nil : saved.baseAddress)
            }
          }
        }
      }
    }
    try EngineError.check(status, operation: "Conv2D forward")
    cache =
      mode.keepsCaches
      ? Cache(input: input, geometry: g, output: relu ? output : nil, savedInput: savedInput)
      : nil
    return output
  }

  /// The convolution (rectified with `relu`) followed by max pooling with
  /// `window`, each image pooled while its maps are in cache, so the
  /// full-size output is never stored. Equal to the two run one after the
  /// other; backward then expects the gradient of the pooled maps.
  private mutating func forward(
    _ input: Tensor, mode: Mode, relu: Bool, pooling window: PoolWindow
  ) throws(EngineError) -> Tensor {
    var g = geometry(input.shape)
    var pool = window.cGeometry(Shape(1, filters, Int(g.out_height), Int(g.out_width)))
    var savedInput = Self.savedInputBuffer(for: &g, mode: mode)
    let shape = Shape(input.shape[0], filters, Int(pool.out_height), Int(pool.out_width))
    var argmax = [Int32](unsafeUninitializedCapacity: shape.count) { _, count in
      count = shape.count
    }
    var status = CVZ_STATUS_OK
    let output = Tensor(uninitialized: shape) { y in
      input.storage.withUnsafeBufferPointer { x in
        kernel.value.storage.withUnsafeBufferPointer { k in
          bias.value.storage.withUnsafeBufferPointer { b in
            savedInput.withUnsafeMutableBufferPointer { saved in
              argmax.withUnsafeMutableBufferPointer { winners in
                status = cvz_conv2d_forward_pooled(
                  &g, &pool, x.baseAddress, k.baseAddress, b.baseAddress, relu ? 1 : 0,
                  y.baseAddress, winners.baseAddress, saved.isEmpty ? nil : saved.baseAddress)
              }
            }
          }
        }
      }
    }
    try EngineError.check(status, operation: "Conv2D forward with max pooling")
    cache =
      mode.keepsCaches
      ? Cache(
        input: input, geometry: g, output: relu ? output : nil, savedInput: savedInput,
        pooling: FoldedPooling(geometry: pool, winners: argmax))
      : nil
    return output
  }

  public mutating func backward(_ dOutput: Tensor) throws(EngineError) -> Tensor {
    try backward(dOutput, needsInputGradient: true, needsParameterGradients: true)
  }

  public mutating func backwardParametersOnly(_ dOutput: Tensor) throws(EngineError) {
    _ = try backward(dOutput, needsInputGradient: false, needsParameterGradients: true)
  }

  public mutating func backward(
    _ dOutput: Tensor, needsInputGradients: [Bool], needsParameterGradients: Bool
  ) throws(EngineError) -> [Tensor?] {
    precondition(needsInputGradients.count == 1, "Conv2D has one input")
    guard needsInputGradients[0] || needsParameterGradients else {
      cache = nil
      oneDNNTrainingRun = nil
      return [nil]
    }
    let dInput = try backward(
      dOutput, needsInputGradient: needsInputGradients[0],
      needsParameterGradients: needsParameterGradients)
    return [needsInputGradients[0] ? dInput : nil]
  }

  /// The input gradient (empty unless `needsInputGradient`), adding into
  /// the kernel and bias gradients with `needsParameterGradients`.
  private mutating func backward(
    _ dOutput: Tensor, needsInputGradient: Bool, needsParameterGradients: Bool
  ) throws(EngineError) -> Tensor {
    if let dInputs = try oneDNNTrainingBackward(
      .plain(dOutput), needsInputGradients: [needsInputGradient],
      needsParameterGradients: needsParameterGradients)
    {
      return try dInputs[0]?.plain() ?? Tensor(zeros: Shape(0))
    }
    guard var cache else { preconditionFailure("Conv2D.backward without a training forward") }
    self.cache = nil
    let dOutput = guidedBackward && cache.output != nil ? dOutput.positivePart : dOutput
    if isGrouped {
      return try groupedBackward(
        dOutput, cache: cache, needsInputGradient: needsInputGradient,
        needsParameterGradients: needsParameterGradients)
    }
    let reluOutput = cache.output ?? Tensor(zeros: Shape(0))
    let mapGeometry = cache.pooling.map { ($0.geometry.out_height, $0.geometry.out_width) }
    let (outputHeight, outputWidth) =
      mapGeometry ?? (cache.geometry.out_height, cache.geometry.out_width)
    let expected = Shape(
      Int(cache.geometry.batch), filters, Int(outputHeight), Int(outputWidth))
    precondition(
      dOutput.shape == expected, "Conv2D dOutput must be \(expected), got \(dOutput.shape)")
    var dInput = Tensor(uninitialized: needsInputGradient ? cache.input.shape : Shape(0)) { _ in }
    let savedInput = cache.savedInput
    let winners = cache.pooling?.winners ?? []
    let pool = cache.pooling?.geometry
    var status = CVZ_STATUS_OK
    cache.input.storage.withUnsafeBufferPointer { x in
      savedInput.withUnsafeBufferPointer { saved in
        kernel.value.storage.withUnsafeBufferPointer { k in
          dOutput.storage.withUnsafeBufferPointer { dy in
            reluOutput.storage.withUnsafeBufferPointer { y in
              dInput.storage.withUnsafeMutableBufferPointer { dx in
                Parameter.withGradients(of: &kernel, &bias, if: needsParameterGradients) {
                  dk, db in
                  let savedBase = saved.isEmpty ? nil : saved.baseAddress
                  let mask = cache.output == nil ? nil : y.baseAddress
                  let dxBase = needsInputGradient ? dx.baseAddress : nil
                  if var pool {
                    winners.withUnsafeBufferPointer { w in
                      status = cvz_conv2d_backward_pooled(
                        &cache.geometry, &pool, w.baseAddress, x.baseAddress, savedBase,
                        k.baseAddress, dy.baseAddress, mask, dxBase, dk, db)
                    }
                  } else {
                    status = cvz_conv2d_backward(
                      &cache.geometry, x.baseAddress, savedBase, k.baseAddress, dy.baseAddress,
                      mask, dxBase, dk, db)
                  }
                }
              }
            }
          }
        }
      }
    }
    try EngineError.check(status, operation: "Conv2D backward")
    return dInput
  }

  public mutating func forEachParameter(_ body: (inout Parameter) -> Void) {
    body(&kernel)
    body(&bias)
  }
}
