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
  /// model's input channels and H × W any size the windows fit in. Runs the
  /// model's network up to that row's tensor (`Network.activation(of:for:)`).
  public static func compute(
    model: ModelFile, input: Tensor, through index: Int
  )
    throws(VisualizationError) -> Tensor
  {
    let spec = model.spec
    guard index >= 0 && index < spec.layers.count else {
      throw .noSuchLayer(index: index, layerCount: spec.layers.count)
    }
    for i in 0...index {
      switch spec.layers[i] {
      case .flatten, .dense:
        throw .wrongLayerKind(
          index: i, kind: spec.layers[i].kerasType,
          expected: "a convolution, pooling or activation layer before Flatten")
      case .conv2d, .pooling2d, .activation, .dropout:
        continue
      }
    }
    var network = model.makeModel()
    do {
      return try network.activation(of: spec.tensorName(ofRow: index), for: input)
    } catch .node(let node, .windowLargerThanInput(let wh, let ww, let ih, let iw)) {
      throw .inputTooSmall(
        layer: spec.row(ofNode: node) ?? index, width: iw, height: ih,
        window: Size2(wh, ww).description)
    } catch {
      preconditionFailure("input \(input.shape) does not fit the model: \(error)")
    }
  }

  /// Spec indices of the Conv2D layers, in order.
  public static func convolutionLayers(of spec: ModelSpec) -> [Int] {
    spec.layers.indices.filter {
      if case .conv2d = spec.layers[$0] { return true }
      return false
    }
  }

  /// The kernel (HWIO) and bias of spec layer `index`, which must be a Conv2D.
  public static func convolution(
    _ model: ModelFile, layer index: Int
  )
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

  private static func weights(
    _ model: ModelFile, layer name: String
  )
    throws(VisualizationError) -> (Tensor, Tensor)
  {
    guard let kernel = model.parameters.first(where: { $0.name == name + "/kernel" }),
      let bias = model.parameters.first(where: { $0.name == name + "/bias" })
    else { throw .missingWeights(layer: name) }
    return (kernel.tensor, bias.tensor)
  }
}
