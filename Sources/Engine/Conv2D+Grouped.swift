import Tensors
import _CNNKernels

/// The grouped and dilated convolutions of imported models, on
/// `cvz_grouped_conv2d_*`; `conv2dForwardReference` with `groups` and
/// `dilations` is their definition.
extension Conv2D {
  func groupedGeometry(_ shape: Shape) -> cvz_grouped_conv_geometry {
    cvz_grouped_conv_geometry(
      base: geometry(shape), groups: Int32(groups), dilation_y: Int32(dilations.y),
      dilation_x: Int32(dilations.x))
  }

  mutating func groupedForward(
    _ input: Tensor, mode: Mode, relu: Bool
  ) throws(EngineError) -> Tensor {
    var g = groupedGeometry(input.shape)
    var status = CVZ_STATUS_OK
    let output = Tensor(
      uninitialized: Shape(input.shape[0], filters, Int(g.base.out_height), Int(g.base.out_width))
    ) { y in
      input.storage.withUnsafeBufferPointer { x in
        kernel.value.storage.withUnsafeBufferPointer { k in
          bias.value.storage.withUnsafeBufferPointer { b in
            status = cvz_grouped_conv2d_forward(
              &g, x.baseAddress, k.baseAddress, b.baseAddress, relu ? 1 : 0, y.baseAddress)
          }
        }
      }
    }
    try EngineError.check(status, operation: "Conv2D forward")
    cache =
      mode.keepsCaches
      ? Cache(input: input, geometry: g.base, output: relu ? output : nil, savedInput: [])
      : nil
    return output
  }

  mutating func groupedBackward(
    _ dOutput: Tensor, cache: Cache, needsInputGradient: Bool, needsParameterGradients: Bool
  ) throws(EngineError) -> Tensor {
    var g = groupedGeometry(cache.input.shape)
    let expected = Shape(
      cache.input.shape[0], filters, Int(g.base.out_height), Int(g.base.out_width))
    precondition(
      dOutput.shape == expected, "Conv2D dOutput must be \(expected), got \(dOutput.shape)")
    var dInput = Tensor(uninitialized: needsInputGradient ? cache.input.shape : Shape(0)) { _ in }
    let reluOutput = cache.output ?? Tensor(zeros: Shape(0))
    var status = CVZ_STATUS_OK
    cache.input.storage.withUnsafeBufferPointer { x in
      kernel.value.storage.withUnsafeBufferPointer { k in
        dOutput.storage.withUnsafeBufferPointer { dy in
          reluOutput.storage.withUnsafeBufferPointer { y in
            dInput.storage.withUnsafeMutableBufferPointer { dx in
              Parameter.withGradients(of: &kernel, &bias, if: needsParameterGradients) {
                dk, db in
                status = cvz_grouped_conv2d_backward(
                  &g, x.baseAddress, k.baseAddress, dy.baseAddress,
                  cache.output == nil ? nil : y.baseAddress,
                  needsInputGradient ? dx.baseAddress : nil, dk, db)
              }
            }
          }
        }
      }
    }
    try EngineError.check(status, operation: "Conv2D backward")
    return dInput
  }
}
