import Engine
import ModelFormats
import Training
import Tensors

/// Runs a saved model's convolutional front on an image of any size, up to a
/// chosen layer, to look at its feature maps.
///
/// Layer numbers are the spec's (the rows of `convviz summary`, from 0); a
/// Conv2D row includes its activation. Only layers before Flatten keep a
/// spatial layout, so asking for Flatten, Dense or anything after them is an
/// error. Dropout is the identity at inference and is skipped.
public enum LayerActivations {
  /// The output of layer `index` for `input` (1, C, H, W), where C is the
  /// model's input channels and H × W any size the windows fit in.
  public static func compute(model: ModelFile, input: Tensor, through index: Int)
    throws(VisualizationError) -> Tensor
  {
    let spec = model.spec
    guard index >= 0 && index < spec.layers.count else {
      throw .noSuchLayer(index: index, layerCount: spec.layers.count)
    }
    var x = input
    let names = spec.layerNames
    for i in 0...index {
      let layer = spec.layers[i]
      switch layer {
      case .conv2d(_, let kernel, let strides, let padding, let activation):
        try checkFits(x, window: kernel, strides: strides, padding: padding.rawValue, layer: i)
        let (k, b) = try weights(model, layer: names[i])
        var conv = Conv2D(
          kernel: k, bias: b, strides: (strides.height, strides.width),
          padding: padding == .valid ? .valid : .same)
        x = conv.forward(x, mode: .inference)
        var act = Activation(function(activation))
        x = act.forward(x, mode: .inference)
      case .pooling2d(let kind, let pool, let strides):
        try checkFits(x, window: pool, strides: strides, padding: "valid", layer: i)
        let reduction: Pooling2D.Reduction
        switch kind {
        case .max: reduction = .max
        case .average: reduction = .average
        case .l2: reduction = .l2
        }
        var pooling = Pooling2D(
          reduction, poolSize: (pool.height, pool.width),
          strides: (strides.height, strides.width))
        x = pooling.forward(x, mode: .inference)
      case .activation(let activation):
        var act = Activation(function(activation))
        x = act.forward(x, mode: .inference)
      case .dropout:
        continue
      case .flatten, .dense:
        throw .wrongLayerKind(
          index: i, kind: layer.kerasType,
          expected: "a convolution, pooling or activation layer before Flatten")
      }
    }
    return x
  }

  /// Spec indices of the Conv2D layers, in order.
  public static func convolutionLayers(of spec: ModelSpec) -> [Int] {
    spec.layers.indices.filter {
      if case .conv2d = spec.layers[$0] { return true }
      return false
    }
  }

  /// The kernel (HWIO) and bias of spec layer `index`, which must be a Conv2D.
  public static func convolution(_ model: ModelFile, layer index: Int)
    throws(VisualizationError) -> (name: String, kernel: Tensor, bias: Tensor)
  {
    let spec = model.spec
    guard index >= 0 && index < spec.layers.count else {
      throw .noSuchLayer(index: index, layerCount: spec.layers.count)
    }
    guard case .conv2d = spec.layers[index] else {
      throw .wrongLayerKind(index: index, kind: spec.layers[index].kerasType, expected: "Conv2D")
    }
    let name = spec.layerNames[index]
    let (kernel, bias) = try weights(model, layer: name)
    return (name, kernel, bias)
  }

  private static func weights(_ model: ModelFile, layer name: String)
    throws(VisualizationError) -> (Tensor, Tensor)
  {
    guard let kernel = model.parameters.first(where: { $0.name == name + "/kernel" }),
      let bias = model.parameters.first(where: { $0.name == name + "/bias" })
    else { throw .missingWeights(layer: name) }
    return (kernel.tensor, bias.tensor)
  }

  /// Throws when a window no longer fits the (shrinking) image.
  private static func checkFits(
    _ x: Tensor, window: Size2, strides: Size2, padding: String, layer: Int
  )
    throws(VisualizationError)
  {
    guard padding == "valid" else { return }
    let (h, w) = (x.shape[2], x.shape[3])
    if h < window.height || w < window.width {
      throw .inputTooSmall(layer: layer, width: w, height: h, window: window.description)
    }
  }

  private static func function(_ activation: LayerSpec.Activation) -> Activation.Function {
    switch activation {
    case .linear: return .linear
    case .relu: return .relu
    case .sigmoid: return .sigmoid
    case .tanh: return .tanh
    case .softmax: return .softmax
    }
  }
}
