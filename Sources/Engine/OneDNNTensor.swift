import Tensors
import _CNNKernels
import _DNNLKernels
import _Runtime

/// How a oneDNN primitive lays out a tensor in memory (channels-last,
/// channel-blocked, …): its memory descriptor, owned here.
final class OneDNNLayout: @unchecked Sendable {
  // @unchecked: the descriptor is never changed after creation.
  let pointer: OpaquePointer

  /// Takes ownership of `pointer`; nil when it is nil (out of memory).
  init?(_ pointer: OpaquePointer?) {
    guard let pointer else { return nil }
    self.pointer = pointer
  }

  deinit { cvz_dnnl_layout_destroy(pointer) }

  /// How many floats a tensor in this layout takes.
  var floatCount: Int { cvz_dnnl_layout_floats(pointer) }

  var isNCHW: Bool { cvz_dnnl_layout_is_nchw(pointer) != 0 }

  func isSame(as other: OneDNNLayout) -> Bool {
    self === other || cvz_dnnl_layout_equal(pointer, other.pointer) != 0
  }
}

/// An (N, C, H, W) activation in the layout of the oneDNN primitive that
/// wrote it, passed as it is to the next oneDNN primitive.
struct OneDNNTensor: Sendable {
  var shape: Shape
  var storage: [Float]
  var layout: OneDNNLayout

  /// Room for an (N, C, H, W) `shape` tensor in `layout`, filled by `body`.
  init(
    shape: Shape, layout: OneDNNLayout, _ body: (UnsafeMutableBufferPointer<Float>) -> Void
  ) {
    let count = layout.floatCount
    self.shape = shape
    self.layout = layout
    storage = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      body(buffer)
      initialized = count
    }
  }

  /// The same values in NCHW order.
  func plain() throws(EngineError) -> Tensor {
    var status = CVZ_STATUS_OK
    let tensor = Tensor(uninitialized: shape) { y in
      storage.withUnsafeBufferPointer { x in
        status = cvz_dnnl_to_nchw(layout.pointer, x.baseAddress, y.baseAddress)
      }
    }
    try EngineError.check(status, operation: "oneDNN reorder to NCHW")
    return tensor
  }
}

/// A tensor between the steps of a run: NCHW, or in a oneDNN layout that
/// only oneDNN operations read (the plan decides where, `ExecutionPlan.Step`).
enum StepValue: Sendable {
  case plain(Tensor)
  case oneDNN(OneDNNTensor)

  /// The NCHW tensor, reordered when it is in a oneDNN layout.
  func plain() throws(EngineError) -> Tensor {
    switch self {
    case .plain(let tensor): tensor
    case .oneDNN(let tensor): try tensor.plain()
    }
  }

  /// The same values in `layout`: as they are when already in it (the
  /// storage handed on, not copied), else reordered (through NCHW from
  /// another oneDNN layout).
  consuming func laidOut(as layout: OneDNNLayout) throws(EngineError) -> OneDNNTensor {
    switch self {
    case .oneDNN(let tensor) where tensor.layout.isSame(as: layout): tensor
    case .oneDNN(let tensor): try OneDNNTensor(try tensor.plain(), layout: layout)
    case .plain(let tensor): try OneDNNTensor(tensor, layout: layout)
    }
  }

  var shape: Shape {
    switch self {
    case .plain(let tensor): tensor.shape
    case .oneDNN(let tensor): tensor.shape
    }
  }
}

/// An operation that can run inference on oneDNN taking and giving
/// activations in oneDNN's layouts, so that a chain of them reorders only
/// where it meets another operation.
protocol OneDNNLayoutOperation: Operation {
  /// Whether inference on per-sample `inputShapes` runs on oneDNN's
  /// layouts when oneDNN is usable (a rule of the geometry: the planner
  /// asks it once).
  func runsOnOneDNN(inputShapes: [Shape]) -> Bool
  /// Inference (`.inference` mode, no caches kept) of `inputs` with the
  /// followers `stages` (which `canFold` accepted), the output left in the
  /// primitive's layout when `keepLayout`, else NCHW. Returns how many
  /// stages it folded, or nil when it does not run on oneDNN for these
  /// inputs (the caller then runs `forward` on the NCHW tensors).
  mutating func oneDNNForward(
    _ inputs: [StepValue], folding stages: [FusionRole], keepLayout: Bool
  ) throws(EngineError) -> (output: StepValue, folded: Int)?
  /// Whether the operation is the element-wise sum of two tensors, which a
  /// convolution before it may do instead as a post-op
  /// (`ExecutionPlan.Step.residualAddend`).
  var sumsTwoInputs: Bool { get }
}

extension OneDNNLayoutOperation {
  var sumsTwoInputs: Bool { false }
}

extension OneDNNTensor {
  /// `tensor` in `layout`, reordered from NCHW.
  init(_ tensor: Tensor, layout: OneDNNLayout) throws(EngineError) {
    var status = CVZ_STATUS_OK
    self.init(shape: tensor.shape, layout: layout) { y in
      tensor.storage.withUnsafeBufferPointer { x in
        status = cvz_dnnl_from_nchw(layout.pointer, x.baseAddress, y.baseAddress)
      }
    }
    try EngineError.check(status, operation: "oneDNN reorder from NCHW")
  }

  /// The element-wise sum of `inputs` (of one shape, at least one of them
  /// in a oneDNN layout), rectified with `relu`, in the layout of the first
  /// one in a oneDNN layout: the others are reordered to it first. A
  /// layout's padding (channels rounded up to a block) is zero in every
  /// operand, so it stays zero. Left-to-right sums, as `Arithmetic` and
  /// `Add` add on NCHW, so the values are the same bits.
  static func sum(_ inputs: [StepValue], relu: Bool) throws(EngineError) -> OneDNNTensor? {
    guard inputs.count >= 2, inputs.allSatisfy({ $0.shape == inputs[0].shape }) else {
      return nil
    }
    var layout: OneDNNLayout?
    for case .oneDNN(let tensor) in inputs where layout == nil { layout = tensor.layout }
    guard let layout else { return nil }
    var operands: [[Float]] = []
    for input in inputs { operands.append(try input.laidOut(as: layout).storage) }
    return OneDNNTensor(shape: inputs[0].shape, layout: layout) { y in
      let last = operands.count - 1
      operands[0].withUnsafeBufferPointer { a in
        operands[1].withUnsafeBufferPointer { b in
          cvz_add(a.baseAddress, b.baseAddress, y.baseAddress, y.count, relu && last == 1 ? 1 : 0)
        }
      }
      for (i, operand) in operands.enumerated().dropFirst(2) {
        operand.withUnsafeBufferPointer { b in
          cvz_add(y.baseAddress, b.baseAddress, y.baseAddress, y.count, relu && i == last ? 1 : 0)
        }
      }
    }
  }
}

/// A oneDNN inner product for one batch size, owned by the `Dense` that
/// made it; the kernel and bias are given on each call and read where
/// they lie (a Dense kernel can be most of a model's bytes: VGG-16's first
/// is 400 MB), so no copy of them is kept.
final class OneDNNInnerProduct: @unchecked Sendable {
  // @unchecked: `pointer` is never reassigned and the C side serialises
  // every call on it.
  let batch: Int
  let threads: Int32
  let implementation: String
  private let pointer: OpaquePointer

  init?(batch: Int, inputs: Int, units: Int) {
    guard let made = cvz_dnnl_dense_create(Int32(batch), Int32(inputs), Int32(units)) else {
      return nil
    }
    pointer = made
    self.batch = batch
    threads = cvz_threads()
    implementation = String(cString: cvz_dnnl_dense_implementation(made))
  }

  deinit { cvz_dnnl_dense_destroy(pointer) }

  /// input (batch, inputs) · kernel (inputs, units) + bias.
  func forward(_ input: Tensor, kernel: Tensor, bias: Tensor) throws(EngineError) -> Tensor {
    var status = CVZ_STATUS_OK
    let output = Tensor(uninitialized: Shape(batch, bias.count)) { y in
      input.storage.withUnsafeBufferPointer { x in
        kernel.storage.withUnsafeBufferPointer { w in
          bias.storage.withUnsafeBufferPointer { b in
            status = cvz_dnnl_dense_run(
              pointer, x.baseAddress, w.baseAddress, b.baseAddress, y.baseAddress)
          }
        }
      }
    }
    try EngineError.check(status, operation: "Dense forward (oneDNN)")
    return output
  }
}
