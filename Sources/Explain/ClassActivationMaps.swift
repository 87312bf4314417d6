import Tensors

/// The CAM family's maps from a layer's activation A (K, h, w) and the
/// class score's gradient G there, as pytorch-grad-cam computes them.
extension Explainer {
  /// ReLU(Σ_k w_k A_k) for Grad-CAM and Grad-CAM++, ReLU(Σ_k ReLU(G_k) ⊙ A_k)
  /// for LayerCAM; (h, w).
  static func classActivationMap(
    activation a: Tensor, gradient g: Tensor, method: AttributionMethod
  ) -> Tensor {
    let (channels, h, w) = (a.shape[0], a.shape[1], a.shape[2])
    let plane = h * w
    var cam = Tensor(zeros: Shape(h, w))
    for k in 0..<channels {
      let range = (k * plane)..<((k + 1) * plane)
      switch method {
      case .layerCAM:
        for (i, j) in range.enumerated() { cam.storage[i] += max(g.storage[j], 0) * a.storage[j] }
      case .gradCAMPlusPlus:
        let weight = gradCAMPlusPlusWeight(
          activation: a.storage[range], gradient: g.storage[range])
        for (i, j) in range.enumerated() { cam.storage[i] += weight * a.storage[j] }
      default:
        var sum: Double = 0
        for j in range { sum += Double(g.storage[j]) }
        let weight = Float(sum / Double(plane))
        for (i, j) in range.enumerated() { cam.storage[i] += weight * a.storage[j] }
      }
    }
    for i in 0..<plane { cam.storage[i] = max(cam.storage[i], 0) }
    return cam
  }

  /// Grad-CAM++'s channel weight, Σ_ij ReLU(G_ij) α_ij with
  /// α = G² / (2G² + (Σ A)·G³), 0 where G = 0 (pytorch-grad-cam's
  /// `GradCAMPlusPlus.get_cam_weights`, eps 1e-6).
  static func gradCAMPlusPlusWeight(
    activation a: ArraySlice<Float>, gradient g: ArraySlice<Float>
  ) -> Float {
    let sumA = a.reduce(0, +)
    var weight: Float = 0
    for gij in g where gij != 0 {
      let g2 = gij * gij
      let alpha = g2 / (2 * g2 + sumA * g2 * gij + 1e-6)
      weight += max(gij, 0) * alpha
    }
    return weight
  }
}
