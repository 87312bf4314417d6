import Tensors
import _DNNLKernels

/// A oneDNN max pooling made for one input shape and layout, owned by the
/// `Pooling2D` that made it. (Average pooling stays on the C kernels: their
/// sums are in the reference's order, which gradient passes, run on NCHW,
/// must reproduce bit for bit.)
final class OneDNNPooling: @unchecked Sendable {
  // @unchecked: `pointer` is never reassigned and the C side serialises
  // every call on it.

  let inputShape: Shape
  /// The layout it reads (nil: NCHW).
  let inputLayout: OneDNNLayout?
  let outputShape: Shape
  let outputLayout: OneDNNLayout
  let implementation: String
  private let pointer: OpaquePointer

  /// Max pooling of (N, C, H, W) `inputShape` inputs laid out as
  /// `inputLayout` over `window` (padded cells never win); nil when oneDNN
  /// cannot make it or the window is dilated.
  init?(window: PoolWindow, inputShape: Shape, inputLayout: OneDNNLayout?) {
    guard window.dilationY == 1, window.dilationX == 1,
      let g = window.geometry(height: inputShape[2], width: inputShape[3])
    else { return nil }
    // The far pads that give the output extent (a ceil mode's overhang
    // included; none when the last window ends before the input does).
    let padBottom = max(
      0, (g.outputHeight - 1) * window.strideY + window.height - inputShape[2] - g.padTop)
    let padRight = max(
      0, (g.outputWidth - 1) * window.strideX + window.width - inputShape[3] - g.padLeft)
    var geometry = cvz_dnnl_pool_geometry(
      batch: Int32(inputShape[0]), channels: Int32(inputShape[1]),
      in_height: Int32(inputShape[2]), in_width: Int32(inputShape[3]),
      pool_height: Int32(window.height), pool_width: Int32(window.width),
      stride_y: Int32(window.strideY), stride_x: Int32(window.strideX),
      pad_top: Int32(g.padTop), pad_left: Int32(g.padLeft), pad_bottom: Int32(padBottom),
      pad_right: Int32(padRight), out_height: Int32(g.outputHeight),
      out_width: Int32(g.outputWidth))
    guard
      let made = cvz_dnnl_pool_create(&geometry, inputLayout?.pointer)
    else { return nil }
    guard let layout = OneDNNLayout(cvz_dnnl_pool_output_layout(made)) else {
      cvz_dnnl_pool_destroy(made)
      return nil
    }
    pointer = made
    outputLayout = layout
    implementation = String(cString: cvz_dnnl_pool_implementation(made))
    self.inputShape = inputShape
    self.inputLayout = inputLayout
    outputShape = Shape(inputShape[0], inputShape[1], g.outputHeight, g.outputWidth)
  }

  deinit { cvz_dnnl_pool_destroy(pointer) }

  /// Whether this pooling reads inputs of `shape` laid out as `layout`.
  func reads(_ shape: Shape, layout: OneDNNLayout?) -> Bool {
    guard shape == inputShape else { return false }
    switch (layout, inputLayout) {
    case (nil, nil): return true
    case (let a?, let b?): return a.isSame(as: b)
    default: return false
    }
  }

  /// Pools `storage` (in `inputLayout`); the output in NCHW, or in
  /// `outputLayout` with `keepLayout`.
  func forward(_ storage: [Float], keepLayout: Bool) throws(EngineError) -> StepValue {
    var status = CVZ_STATUS_OK
    func run(_ y: UnsafeMutableBufferPointer<Float>) {
      storage.withUnsafeBufferPointer { x in
        status = cvz_dnnl_pool_run(pointer, x.baseAddress, keepLayout ? 1 : 0, y.baseAddress)
      }
    }
    let output: StepValue =
      keepLayout
      ? .oneDNN(OneDNNTensor(shape: outputShape, layout: outputLayout, run))
      : .plain(Tensor(uninitialized: outputShape, initializer: run))
    try EngineError.check(status, operation: "MaxPooling2D forward (oneDNN)")
    return output
  }
}
