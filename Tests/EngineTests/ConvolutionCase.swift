import Engine
import Tensors

/// One convolution's shapes, for the tests that run a layer over many
/// (`GroupedConv2DTests`, `OneDNNConv2DTests`): batch, channels, input
/// size, kernel, strides, groups, dilations and padding.
struct ConvolutionCase: CustomStringConvertible {
  var n, cin, h, w, cout, kh, kw, sy, sx, groups, dy, dx: Int
  var padding: Padding

  var description: String {
    "n\(n) cin\(cin) \(h)x\(w) cout\(cout) k\(kh)x\(kw) s\(sy),\(sx) g\(groups) d\(dy),\(dx) "
      + "\(padding)"
  }

  /// A random input (n, cin, h, w), HWIO kernel and bias, drawn in that
  /// order from `generator`.
  func randomTensors(
    _ generator: inout SeededGenerator
  ) -> (input: Tensor, kernel: Tensor, bias: Tensor) {
    let input = GradientCheck.randomTensor(Shape(n, cin, h, w), &generator)
    let kernel = GradientCheck.randomTensor(Shape(kh, kw, cin / groups, cout), &generator)
    let bias = GradientCheck.randomTensor(Shape(cout), &generator)
    return (input, kernel, bias)
  }

  /// The layer of this case with these weights.
  func layer(kernel: Tensor, bias: Tensor) -> Conv2D {
    Conv2D(
      kernel: kernel, bias: bias, strides: (sy, sx), padding: padding, groups: groups,
      dilations: (dy, dx))
  }
}
