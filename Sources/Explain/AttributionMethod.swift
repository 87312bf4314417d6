import Tensors

/// An attribution method and its settings.
///
/// Every method explains one class score: the logit under a final softmax
/// (as Grad-CAM's paper, pytorch-grad-cam and Captum take a torchvision
/// model's output), else the output itself.
public enum AttributionMethod: Sendable {
  /// Grad-CAM (Selvaraju et al. 2017): ReLU(Σ_k α_k A_k), α_k the mean of
  /// the score's gradient over channel k of the layer's activation A.
  case gradCAM(layer: String)
  /// Grad-CAM++ (Chattopadhay et al. 2018), with pytorch-grad-cam's
  /// closed-form weights for an exponential score.
  case gradCAMPlusPlus(layer: String)
  /// Score-CAM (Wang et al. 2020): ReLU(Σ_k w_k A_k), w the softmax over
  /// channels of the class scores of the input masked by each channel's
  /// map (upsampled, scaled to 0…1), as pytorch-grad-cam computes it; no
  /// gradients, one forward per channel (batched).
  case scoreCAM(layer: String)
  /// LayerCAM (Jiang et al. 2021): ReLU(Σ_k ReLU(∂y/∂A_k) ⊙ A_k).
  case layerCAM(layer: String)
  /// The gradient of the score at the input (Simonyan et al. 2014): the
  /// largest |∂y/∂x| over the channels of each pixel.
  case saliency
  /// SmoothGrad (Smilkov et al. 2017): the mean saliency of `samples`
  /// copies of the input with Gaussian noise of standard deviation
  /// `noise` × (max − min of the input), drawn from `seed`.
  case smoothGrad(samples: Int, noise: Float, seed: UInt64)
  /// Integrated gradients (Sundararajan et al. 2017): (x − x′) times the
  /// mean gradient at `steps` points x′ + α(x − x′), α at the midpoints of
  /// `steps` equal intervals; the map sums the channels. `baseline` has
  /// the input's shape (1, C, H, W).
  case integratedGradients(steps: Int, baseline: Tensor)
  /// Occlusion (Zeiler & Fergus 2014): the score's drop when a
  /// `window`×`window` square (all channels) is set to zero, slid by
  /// `stride`; each pixel gets the mean drop of the windows covering it,
  /// as Captum's `Occlusion` computes it.
  case occlusion(window: Int, stride: Int)
  /// Guided backpropagation (Springenberg et al. 2015): the input gradient
  /// with every rectifier passing back only the positive part of its
  /// incoming gradient (Captum's `GuidedBackprop`); the map is the largest
  /// |value| over each pixel's channels, as saliency's.
  case guidedBackprop
  /// Guided Grad-CAM (Selvaraju et al. 2017): the guided backpropagation
  /// map times the Grad-CAM map at `layer` upsampled to the input.
  case guidedGradCAM(layer: String)

  /// The layer a class activation map is taken at; nil for input methods.
  public var layer: String? {
    switch self {
    case .gradCAM(let layer), .gradCAMPlusPlus(let layer), .layerCAM(let layer),
      .scoreCAM(let layer), .guidedGradCAM(let layer):
      return layer
    default: return nil
    }
  }

  /// Whether maps can be negative (shown on a diverging colour map).
  public var isSigned: Bool {
    switch self {
    case .integratedGradients, .occlusion: return true
    default: return false
    }
  }
}

/// One explanation: the map at the input's size and what it explains.
public struct Attribution: Sendable {
  /// (H, W) at the model input's size.
  public var map: Tensor
  /// For class activation maps, the map at the layer's own size before
  /// upsampling (h, w); nil otherwise.
  public var layerMap: Tensor?
  /// The explained class and its score (logit) and probability.
  public var classIndex: Int
  public var score: Float
  public var probability: Float
  /// For integrated gradients, the baseline's score: completeness says the
  /// map sums to `score − baselineScore` (Captum's convergence delta is
  /// the difference).
  public var baselineScore: Float?
}
