import Engine
import ModelFormats
import Training
import Tensors

/// Runs a model's convolutional front on an image of any size, up to a
/// chosen layer, to look at its feature maps.
///
/// Layer numbers are those of `LoadedModel.layers` (the rows of `convviz
/// summary`, from 0): a `model.bin`'s spec rows, an ONNX model's graph
/// nodes. A Conv2D includes its activation. Only layers whose output is
/// still an image have maps, so asking for Flatten, Dense or anything after
/// them is an error. Dropout is the identity at inference.
public enum LayerActivations {
  /// The output of layer `index` for `input` (1, C, H, W), where C is the
  /// model's input channels and H × W any size the windows fit in. Runs the
  /// model's network up to that layer's tensor (`Network.activation(of:for:)`).
  public static func compute(
    model: LoadedModel, input: Tensor, through index: Int
  )
    throws(VisualizationError) -> Tensor
  {
    let layers = model.layers
    guard index >= 0 && index < layers.count else {
      throw .noSuchLayer(index: index, layerCount: layers.count)
    }
    if let flat = (0...index).first(where: { !layers[$0].hasMaps }) {
      throw .wrongLayerKind(
        index: flat, kind: layers[flat].kind,
        expected: "a convolution, pooling or activation layer before Flatten")
    }
    var network = model.network
    do {
      return try network.activation(of: layers[index].tensor, for: input)
    } catch .node(let node, .windowLargerThanInput(let wh, let ww, let ih, let iw)) {
      throw .inputTooSmall(
        layer: layer(ofNode: node, in: model) ?? index, width: iw, height: ih,
        window: Size2(wh, ww).description)
    } catch {
      preconditionFailure("input \(input.shape) does not fit the model: \(error)")
    }
  }

  /// The layer a graph node belongs to.
  static func layer(ofNode name: String, in model: LoadedModel) -> Int? {
    if let spec = model.spec { return spec.row(ofNode: name) }
    return model.layers.firstIndex { $0.name == name }
  }

  /// `compute` for a trained model file.
  public static func compute(
    model: ModelFile, input: Tensor, through index: Int
  )
    throws(VisualizationError) -> Tensor
  {
    try compute(model: LoadedModel(model), input: input, through: index)
  }

  /// Indices of the Conv2D layers, in order.
  public static func convolutionLayers(of model: LoadedModel) -> [Int] {
    model.layers.indices.filter { model.layers[$0].isConvolution }
  }

  /// Spec indices of the Conv2D layers, in order.
  public static func convolutionLayers(of spec: ModelSpec) -> [Int] {
    spec.layers.indices.filter {
      if case .conv2d = spec.layers[$0] { return true }
      return false
    }
  }

  /// The kernel (HWIO) and bias of layer `index`, which must be a Conv2D.
  public static func convolution(
    _ model: LoadedModel, layer index: Int
  )
    throws(VisualizationError) -> (name: String, kernel: Tensor, bias: Tensor)
  {
    let layers = model.layers
    guard index >= 0 && index < layers.count else {
      throw .noSuchLayer(index: index, layerCount: layers.count)
    }
    let layer = layers[index]
    guard layer.isConvolution else {
      throw .wrongLayerKind(index: index, kind: layer.kind, expected: "Conv2D")
    }
    guard let kernel = layer.weights.first(where: { $0.name == layer.name + "/kernel" }),
      let bias = layer.weights.first(where: { $0.name == layer.name + "/bias" })
    else { throw .missingWeights(layer: layer.name) }
    return (layer.name, kernel.tensor, bias.tensor)
  }

  /// `convolution` for a trained model file (spec rows).
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
    guard let kernel = model.parameters.first(where: { $0.name == name + "/kernel" }),
      let bias = model.parameters.first(where: { $0.name == name + "/bias" })
    else { throw .missingWeights(layer: name) }
    return (name, kernel.tensor, bias.tensor)
  }
}
