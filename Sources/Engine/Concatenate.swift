import Tensors
import _CNNKernels
import _DNNLKernels

/// Joins inputs along one per-sample axis (Keras `Concatenate`, ONNX
/// `Concat`); by default the channel axis of images, as DenseNet and
/// Inception blocks join them.
///
/// Inputs (N, …, a_k, …) that agree on every other axis → output
/// (N, …, Σ a_k, …); the gradient of input k is its range of dOutput
/// along the axis.
public struct Concatenate: Operation {
  struct Cache {
    var extents: [Int]
  }

  /// The per-sample axis joined along (0: channels of an image).
  public let axis: Int
  private var cache: Cache?

  public init(axis: Int = 0) {
    precondition(axis >= 0, "a per-sample axis")
    self.axis = axis
  }

  public var kind: String { "Concatenate" }

  public func outputShape(for inputShapes: [Shape]) throws(EngineError) -> Shape {
    func agree(_ shape: Shape, _ first: Shape) -> Bool {
      shape.rank == first.rank
        && shape.dims.indices.allSatisfy { $0 == axis || shape[$0] == first[$0] }
    }
    guard let first = inputShapes.first, first.rank > axis,
      inputShapes.allSatisfy({ agree($0, first) })
    else {
      throw .incompatibleShape(
        operation: kind,
        expected: axis == 0 && inputShapes.first?.rank == 3
          ? "images (C, H, W) of one height and width"
          : "inputs that differ only along axis \(axis + 1)",
        found: inputShapes)
    }
    var dims = first.dims
    dims[axis] = inputShapes.reduce(0) { $0 + $1[axis] }
    return Shape(dims)
  }

  /// (blocks before the axis, elements from the axis on per unit of it).
  private func split(_ shape: Shape) -> (outer: Int, inner: Int) {
    (shape.dims[...axis].reduce(1, *), shape.dims[(axis + 2)...].reduce(1, *))
  }

  public mutating func forward(_ inputs: [Tensor], mode: Mode) throws(EngineError) -> Tensor {
    precondition(!inputs.isEmpty && inputs.allSatisfy { $0.shape.rank == inputs[0].shape.rank })
    let extents = inputs.map { $0.shape[axis + 1] }
    var dims = inputs[0].shape.dims
    dims[axis + 1] = extents.reduce(0, +)
    let (outer, inner) = split(inputs[0].shape)
    let total = dims[axis + 1] * inner
    var output = Tensor(zeros: Shape(dims))
    output.storage.withUnsafeMutableBufferPointer { y in
      var first = 0
      for input in inputs {
        let block = input.shape[axis + 1] * inner
        input.storage.withUnsafeBufferPointer { x in
          for o in 0..<outer {
            for j in 0..<block { y[o * total + first + j] = x[o * block + j] }
          }
        }
        first += block
      }
    }
    cache = mode.keepsCaches ? Cache(extents: extents) : nil
    return output
  }

  public mutating func backward(
    _ dOutput: Tensor, needsInputGradients: [Bool]
  ) throws(EngineError) -> [Tensor?] {
    guard let cache else { preconditionFailure("Concatenate.backward without a training forward") }
    self.cache = nil
    let (outer, inner) = split(dOutput.shape)
    let total = dOutput.shape[axis + 1] * inner
    var first = 0
    return zip(cache.extents, needsInputGradients).map { extent, needed in
      defer { first += extent * inner }
      guard needed else { return nil }
      var dims = dOutput.shape.dims
      dims[axis + 1] = extent
      let block = extent * inner
      return Tensor(uninitialized: Shape(dims)) { dx in
        dOutput.storage.withUnsafeBufferPointer { dy in
          for o in 0..<outer {
            for j in 0..<block { dx[o * block + j] = dy[o * total + first + j] }
          }
        }
      }
    }
  }
}

/// Joining images along the channels in inference on a channel-blocked
/// oneDNN layout (nChw16c, nChw8c with every input's channels whole
/// blocks, or channels-last): per image (per pixel, channels-last), the
/// inputs' channels one after the other (SqueezeNet's and DenseNet's
/// joins, between convolutions that keep the layout). Only where the
/// output stays in the layout: else the NCHW join, which reorders less.
extension Concatenate: OneDNNLayoutOperation {
  func runsOnOneDNN(inputShapes: [Shape]) -> Bool {
    axis == 0 && inputShapes.count >= 2
      && inputShapes.allSatisfy { $0.rank == 3 && $0[0] % 16 == 0 }
  }

  /// 16 or 8 for nChw16c and nChw8c, 0 for channels-last, nil otherwise.
  private static func blockKind(_ tensor: OneDNNTensor) -> Int32? {
    let block = cvz_dnnl_layout_channel_block(tensor.layout.pointer)
    if block == 16 || block == 8 { return block }
    return block > 0 && Int(block) == tensor.shape[1] ? 0 : nil
  }

  mutating func oneDNNForward(
    _ inputs: [StepValue], folding stages: [FusionRole], keepLayout: Bool
  ) throws(EngineError) -> (output: StepValue, folded: Int)? {
    guard keepLayout, axis == 0, stages.isEmpty, OneDNN.isUsable, inputs.count >= 2 else {
      return nil
    }
    var kind: Int32?
    for case .oneDNN(let tensor) in inputs where kind == nil { kind = Self.blockKind(tensor) }
    let first = inputs[0].shape
    guard let kind, first.rank == 4,
      inputs.allSatisfy({
        $0.shape.rank == 4 && (kind == 0 || $0.shape[1] % Int(kind) == 0)
          && $0.shape[0] == first[0] && $0.shape[2] == first[2] && $0.shape[3] == first[3]
      })
    else { return nil }
    let (n, h, w) = (first[0], first[2], first[3])
    var operands: [[Float]] = []
    for input in inputs {
      if case .oneDNN(let tensor) = input, Self.blockKind(tensor) == kind {
        operands.append(tensor.storage)
        continue
      }
      guard let layout = OneDNNLayout(cvz_dnnl_layout_blocked(n, input.shape[1], h, w, kind))
      else { return nil }
      operands.append(try OneDNNTensor(try input.plain(), layout: layout).storage)
    }
    let channels = inputs.map { Int32($0.shape[1]) }
    let total = Int(channels.reduce(0, +))
    guard let layout = OneDNNLayout(cvz_dnnl_layout_blocked(n, total, h, w, kind)) else {
      return nil
    }
    let output = OneDNNTensor(shape: Shape(n, total, h, w), layout: layout) { y in
      Self.withBaseAddresses(operands[...]) { pointers in
        cvz_join_channels(
          Int32(n), h * w, kind, Int32(pointers.count), pointers, channels, y.baseAddress)
      }
    }
    cache = nil
    return (.oneDNN(output), 0)
  }

  /// `body` with the base address of each array in `arrays`.
  private static func withBaseAddresses(
    _ arrays: ArraySlice<[Float]>, _ pointers: [UnsafePointer<Float>?] = [],
    _ body: ([UnsafePointer<Float>?]) -> Void
  ) {
    guard let first = arrays.first else { return body(pointers) }
    first.withUnsafeBufferPointer { buffer in
      withBaseAddresses(arrays.dropFirst(), pointers + [buffer.baseAddress], body)
    }
  }
}
