import Engine
import Tensors

/// Guided backpropagation and guided Grad-CAM.
///
/// Guided backpropagation (Springenberg et al. 2015) is the input gradient
/// with one change: each rectifier passes back only the positive part of
/// the gradient it receives, where its own derivative lets a gradient
/// through: max(dy, 0) · [x > 0] for a ReLU (fused into a convolution or
/// not), as Captum's `GuidedBackprop` does by overriding `nn.ReLU`'s
/// backward. Leaky ReLU and ReLU6 (clip) take the same rule with their own
/// derivative: max(dy, 0) · (1 or α), and max(dy, 0) · [low < x < high].
/// Operations that do not rectify (convolution, dense, pooling, addition…)
/// pass their gradient; smooth non-linearities inside the network (sigmoid,
/// tanh, softmax, hard sigmoid, hard swish) have no guided rule, and a model
/// with one is refused (`ExplainError.noGuidedRule`).
extension Explainer {
  /// Throws `.noGuidedRule` when the class scores depend on an operation
  /// without a guided rule; `method` names the option in the message.
  public func checkGuidedRule(method: String) throws(ExplainError) {
    if let node = network.nodesWithoutGuidedRule().first {
      let kind = (node.op as? Activation).map(\.function.rawValue) ?? node.op.kind
      throw .noGuidedRule(method: method, node: node.name, kind: kind)
    }
  }

  /// The guided gradient of class `classIndex`'s score at each sample of
  /// `input` (N, C, H, W), through the engine's guided backward.
  public mutating func guidedGradients(
    _ input: Tensor, classIndex: Int, method: String = "guided-backprop"
  ) throws(ExplainError) -> Tensor {
    try checkGuidedRule(method: method)
    network.setGuidedBackward(true)
    defer { network.setGuidedBackward(false) }
    return try inputGradients(input, classIndex: classIndex)
  }

  /// Guided Grad-CAM for one image (1, C, H, W): the Grad-CAM map at
  /// `layer` (h, w), from ordinary gradients, and the map (H, W): the
  /// guided map (largest |guided gradient| over channels) times the
  /// Grad-CAM map upsampled bilinearly. As Grad-CAM is never negative this
  /// is also the largest |guided gradient × CAM| over channels, Captum's
  /// `GuidedGradCam` attribution reduced as saliency's.
  public mutating func guidedGradCAM(
    _ input: Tensor, classIndex: Int, layer: String
  ) throws(ExplainError) -> (cam: Tensor, map: Tensor) {
    let (activation, gradient) = try layerGradient(input, classIndex: classIndex, layer: layer)
    let cam = Self.classActivationMap(
      activation: activation, gradient: gradient, method: .gradCAM(layer: layer))
    let upsampled = Bilinear.resize(cam, height: input.shape[2], width: input.shape[3])
    let guided = Self.maxAbsOverChannels(
      try guidedGradients(input, classIndex: classIndex, method: "guided-gradcam"))
    var map = guided
    for i in 0..<map.count { map.storage[i] *= upsampled.storage[i] }
    return (cam, map)
  }

  /// Guided backpropagation the plain way, what `guidedGradients` is tested
  /// against: every node of the graph run on its own (nothing folded, no
  /// plan), in node order, then each operation's ordinary backward in
  /// reverse, with the gradient entering a rectifier (ReLU, leaky ReLU,
  /// clip) replaced by its positive part first. For one or more samples.
  public func guidedGradientsReference(
    _ input: Tensor, classIndex: Int
  ) throws(ExplainError) -> Tensor {
    let graph = network.graph
    let logits = network.trainingPlan.output
    guard let last = graph.nodes.firstIndex(where: { $0.output == logits }) else {
      return Tensor(zeros: input.shape)
    }
    var ops = graph.nodes.map(\.op)
    var values: [String: Tensor] = [graph.input: input]
    do {
      for k in 0...last {
        ops[k].guidedBackward = false
        let inputs = graph.nodes[k].inputs.map { values[$0] ?? Tensor(zeros: Shape(0)) }
        values[graph.nodes[k].output] = try ops[k].forward(inputs, mode: .inferenceWithGradients)
      }
      var gradients: [String: Tensor] = [
        logits: Self.oneHot(classIndex, batch: input.batchCount, classes: classCount)
      ]
      for k in (0...last).reversed() {
        guard var d = gradients[graph.nodes[k].output] else { continue }
        if Self.isRectifier(ops[k]) {
          for i in 0..<d.count { d.storage[i] = max(d.storage[i], 0) }
        }
        let names = graph.nodes[k].inputs
        let dInputs = try ops[k].backward(
          d, needsInputGradients: names.map { _ in true })
        for (name, dInput) in zip(names, dInputs) {
          guard let dInput else { continue }
          if let sum = gradients[name] {
            gradients[name] = Tensor(
              shape: sum.shape, storage: zip(sum.storage, dInput.storage).map { $0 + $1 })
          } else {
            gradients[name] = dInput
          }
        }
      }
      return gradients[graph.input] ?? Tensor(zeros: input.shape)
    } catch {
      throw .engine(error)
    }
  }

  /// The rectifiers of the reference: ReLU, leaky ReLU and clip (ReLU6).
  static func isRectifier(_ op: any Operation) -> Bool {
    if let activation = op as? Activation { return activation.function == .relu }
    if let parametric = op as? ParametricActivation {
      switch parametric.function {
      case .leakyRelu, .clip: return true
      case .hardSigmoid, .hardSwish: return false
      }
    }
    return false
  }
}
