import Tensors
import _CNNKernels

/// A 2-D convolution layer (Keras `Conv2D`): cross-correlation plus bias,
/// then an optional activation (Keras's `activation=` argument).
///
/// Input (N, cin, H, W) → output (N, filters, H′, W′) with
/// H′ = (H − kh) / sh + 1 for `.valid` and ceil(H / sh) for `.same` (see
/// `Padding`). The kernel is stored in Keras's HWIO layout
/// (kh, kw, cin, filters), named "kernel"; the bias (filters) is "bias".
/// The work runs in `cvz_conv2d_forward/backward` (direct AVX2 kernels, or
/// per-image im2col GEMMs, on the `_Runtime` threads); `conv2dForwardReference` is the
/// naive loop they are tested against. In training the direct path keeps
/// the padded channels-last input copy it builds in forward for backward.
/// A ReLU activation is fused into the GEMM's output pass and its mask into
/// backward, which saves two full passes over the activations; prefer
/// `activation: .relu` to a separate `Activation(.relu)` layer.
public struct Conv2D: Layer {
  struct Cache {
    var input: Tensor
    var geometry: cvz_conv_geometry
    /// The activated output, when the fused ReLU needs its mask.
    var output: Tensor?
    /// The fast path's padded channels-last copy of `input`, which backward
    /// would otherwise build again (empty when the path keeps none).
    var savedInput: [Float]
    /// With fused max pooling: its geometry and each pooled cell's winner.
    /// `output` then holds the pooled maps.
    var pooling: (geometry: cvz_pool_geometry, argmax: [Int32])? = nil
  }

  public let filters: Int
  public let kernelSize: (height: Int, width: Int)
  public let strides: (y: Int, x: Int)
  public let padding: Padding
  public let inputChannels: Int
  public let activation: Activation.Function
  public var kernel: Parameter
  public var bias: Parameter
  private var cache: Cache?
  /// Runs activations other than ReLU and linear after the convolution.
  private var separateActivation: Activation?

  public var kind: String { "Conv2D" }

  /// A layer with a Glorot-uniform kernel drawn from `generator` and zero bias.
  public init(
    inputChannels: Int, filters: Int, kernelSize: (Int, Int), strides: (Int, Int) = (1, 1),
    padding: Padding = .valid, activation: Activation.Function = .linear,
    generator: inout SeededGenerator
  ) {
    let (kh, kw) = kernelSize
    let kernel = GlorotUniform.sample(
      shape: Shape(kh, kw, inputChannels, filters), fanIn: kh * kw * inputChannels,
      fanOut: kh * kw * filters, using: &generator)
    self.init(
      kernel: kernel, bias: Tensor(zeros: Shape(filters)), strides: strides, padding: padding,
      activation: activation)
  }

  /// A layer with the given HWIO `kernel` (kh, kw, cin, filters) and `bias` (filters).
  public init(
    kernel: Tensor, bias: Tensor, strides: (Int, Int) = (1, 1), padding: Padding = .valid,
    activation: Activation.Function = .linear
  ) {
    precondition(kernel.shape.rank == 4, "Conv2D kernel must be (kh, kw, cin, filters)")
    precondition(bias.shape == Shape(kernel.shape[3]), "Conv2D bias must be (filters)")
    precondition(strides.0 >= 1 && strides.1 >= 1, "Conv2D strides must be at least 1")
    filters = kernel.shape[3]
    kernelSize = (kernel.shape[0], kernel.shape[1])
    inputChannels = kernel.shape[2]
    self.strides = strides
    precondition(activation != .softmax, "Conv2D cannot apply softmax to feature maps")
    self.padding = padding
    self.activation = activation
    separateActivation = activation == .relu || activation == .linear ? nil : Activation(activation)
    self.kernel = Parameter(name: "kernel", value: kernel)
    self.bias = Parameter(name: "bias", value: bias)
  }

  public func outputShape(for inputShape: Shape) -> Shape {
    precondition(inputShape.rank == 3 && inputShape[0] == inputChannels,
      "Conv2D expects (\(inputChannels), H, W), got \(inputShape)")
    let g = geometry(batch: 1, height: inputShape[1], width: inputShape[2])
    return Shape(filters, Int(g.out_height), Int(g.out_width))
  }

  func geometry(batch: Int, height: Int, width: Int) -> cvz_conv_geometry {
    let window = WindowGeometry(
      inputHeight: height, inputWidth: width, kernel: (kernelSize.height, kernelSize.width),
      strides: (strides.y, strides.x), padding: padding)
    return cvz_conv_geometry(
      batch: Int32(batch), in_channels: Int32(inputChannels), in_height: Int32(height),
      in_width: Int32(width), out_channels: Int32(filters),
      kernel_height: Int32(kernelSize.height), kernel_width: Int32(kernelSize.width),
      stride_y: Int32(strides.y), stride_x: Int32(strides.x), pad_top: Int32(window.padTop),
      pad_left: Int32(window.padLeft), out_height: Int32(window.outputHeight),
      out_width: Int32(window.outputWidth))
  }

  public mutating func forward(_ input: Tensor, mode: Mode) -> Tensor {
    forward(input, mode: mode, fusingReLU: false)
  }

  /// Room for the fast path's padded channels-last input copy, kept for
  /// backward: empty in inference, or when the path keeps none.
  private static func savedInputBuffer(
    for g: inout cvz_conv_geometry, mode: Mode
  ) -> [Float] {
    let count = mode == .training ? cvz_conv2d_saved_input_floats(&g) : 0
    return [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
  }

  /// `forward` followed by a ReLU that belongs to the next layer
  /// (`Sequential` fuses `Conv2D` + `Activation(.relu)` this way); backward
  /// then expects the gradient of the rectified output.
  mutating func forward(_ input: Tensor, mode: Mode, fusingReLU: Bool) -> Tensor {
    precondition(!fusingReLU || activation == .linear, "only a linear Conv2D can take a ReLU")
    precondition(input.shape.rank == 4 && input.shape[1] == inputChannels,
      "Conv2D expects (N, \(inputChannels), H, W), got \(input.shape)")
    var g = geometry(batch: input.shape[0], height: input.shape[2], width: input.shape[3])
    let relu: Int32 = activation == .relu || fusingReLU ? 1 : 0
    var savedInput = Self.savedInputBuffer(for: &g, mode: mode)
    var status = CVZ_STATUS_OK
    var output = Tensor(
      uninitialized: Shape(input.shape[0], filters, Int(g.out_height), Int(g.out_width))
    ) { y in
      input.storage.withUnsafeBufferPointer { x in
        kernel.value.storage.withUnsafeBufferPointer { k in
          bias.value.storage.withUnsafeBufferPointer { b in
            savedInput.withUnsafeMutableBufferPointer { saved in
              status = cvz_conv2d_forward(
                &g, x.baseAddress, k.baseAddress, b.baseAddress, relu, y.baseAddress,
                saved.isEmpty ? nil : saved.baseAddress)
            }
          }
        }
      }
    }
    requireKernelSuccess(status, operation: "Conv2D forward")
    if var separate = separateActivation {
      output = separate.forward(output, mode: mode)
      separateActivation = separate
    }
    cache = mode == .training
      ? Cache(
        input: input, geometry: g, output: relu == 1 ? output : nil, savedInput: savedInput)
      : nil
    return output
  }

  /// Whether `forward(_:mode:fusingReLU:pooling:)` can pool this input in
  /// the same pass: max pooling, a ReLU or no activation, and the direct
  /// path with whole images per worker.
  func canFusePooling(_ pooling: Pooling2D, inputShape: Shape) -> Bool {
    guard pooling.reduction == .max, separateActivation == nil, inputShape.rank == 4,
      inputShape[1] == inputChannels
    else { return false }
    var g = geometry(batch: inputShape[0], height: inputShape[2], width: inputShape[3])
    return cvz_conv2d_pooling_fuses(&g) != 0
  }

  /// `forward(_:mode:fusingReLU:)` followed by the max `pooling` layer that
  /// comes next (`Sequential` fuses them when `canFusePooling`): each
  /// image's maps are pooled while still in cache, so the full-size output
  /// is never stored. Returns the pooled maps, equal to the two layers run
  /// one after the other; backward then expects their gradient.
  mutating func forward(
    _ input: Tensor, mode: Mode, fusingReLU: Bool, pooling: Pooling2D
  ) -> Tensor {
    precondition(!fusingReLU || activation == .linear, "only a linear Conv2D can take a ReLU")
    precondition(canFusePooling(pooling, inputShape: input.shape), "pooling cannot be fused here")
    var g = geometry(batch: input.shape[0], height: input.shape[2], width: input.shape[3])
    var pool = pooling.poolGeometry(Shape(1, filters, Int(g.out_height), Int(g.out_width)))
    let relu: Int32 = activation == .relu || fusingReLU ? 1 : 0
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
                  &g, &pool, x.baseAddress, k.baseAddress, b.baseAddress, relu, y.baseAddress,
                  winners.baseAddress, saved.isEmpty ? nil : saved.baseAddress)
              }
            }
          }
        }
      }
    }
    requireKernelSuccess(status, operation: "Conv2D forward with max pooling")
    cache = mode == .training
      ? Cache(
        input: input, geometry: g, output: relu == 1 ? output : nil, savedInput: savedInput,
        pooling: (pool, argmax))
      : nil
    return output
  }

  public mutating func backward(_ dOutput: Tensor) -> Tensor {
    backward(dOutput, needsInputGradient: true)
  }

  public mutating func backwardParametersOnly(_ dOutput: Tensor) {
    _ = backward(dOutput, needsInputGradient: false)
  }

  private mutating func backward(_ dOutput: Tensor, needsInputGradient: Bool) -> Tensor {
    guard var cache else { preconditionFailure("Conv2D.backward without a training forward") }
    self.cache = nil
    var dOutput = dOutput
    if var separate = separateActivation {
      dOutput = separate.backward(dOutput)
      separateActivation = separate
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
    let winners = cache.pooling?.argmax ?? []
    let pool = cache.pooling?.geometry
    var status = CVZ_STATUS_OK
    cache.input.storage.withUnsafeBufferPointer { x in
      savedInput.withUnsafeBufferPointer { saved in
        kernel.value.storage.withUnsafeBufferPointer { k in
          dOutput.storage.withUnsafeBufferPointer { dy in
            reluOutput.storage.withUnsafeBufferPointer { y in
              dInput.storage.withUnsafeMutableBufferPointer { dx in
                kernel.grad.storage.withUnsafeMutableBufferPointer { dk in
                  bias.grad.storage.withUnsafeMutableBufferPointer { db in
                    let savedBase = saved.isEmpty ? nil : saved.baseAddress
                    let mask = cache.output == nil ? nil : y.baseAddress
                    let dxBase = needsInputGradient ? dx.baseAddress : nil
                    if var pool {
                      winners.withUnsafeBufferPointer { w in
                        status = cvz_conv2d_backward_pooled(
                          &cache.geometry, &pool, w.baseAddress, x.baseAddress, savedBase,
                          k.baseAddress, dy.baseAddress, mask, dxBase, dk.baseAddress,
                          db.baseAddress)
                      }
                    } else {
                      status = cvz_conv2d_backward(
                        &cache.geometry, x.baseAddress, savedBase, k.baseAddress, dy.baseAddress,
                        mask, dxBase, dk.baseAddress, db.baseAddress)
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    requireKernelSuccess(status, operation: "Conv2D backward")
    return dInput
  }

  public mutating func forEachParameter(_ body: (inout Parameter) -> Void) {
    body(&kernel)
    body(&bias)
  }
}
