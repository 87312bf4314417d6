import Engine
import Tensors

/// Score-CAM: channel weights from forward passes alone.
extension Explainer {
  /// The masks Score-CAM multiplies the input by: each channel of the
  /// layer's activation (K, h, w) upsampled bilinearly to (height, width)
  /// and scaled to 0…1 by its own min and max (+1e-8, as pytorch-grad-cam).
  static func scoreCAMMasks(_ activation: Tensor, height: Int, width: Int) -> [[Float]] {
    let (channels, h, w) = (activation.shape[0], activation.shape[1], activation.shape[2])
    return (0..<channels).map { k in
      let plane = Tensor(
        shape: Shape(h, w), storage: Array(activation.storage[(k * h * w)..<((k + 1) * h * w)]))
      let up = Bilinear.resize(plane, height: height, width: width).storage
      let (lo, hi) = (up.min() ?? 0, up.max() ?? 0)
      return up.map { ($0 - lo) / (hi - lo + 1e-8) }
    }
  }

  /// The Score-CAM map (h, w) at `layer` for one image (1, C, H, W): the
  /// masked inputs are scored `batchSize` at a time.
  mutating func scoreCAM(
    _ input: Tensor, classIndex: Int, layer: String
  ) throws(ExplainError) -> Tensor {
    let activation: Tensor
    do {
      let a = try network.activation(of: layer, for: input)
      activation = Tensor(shape: a.sampleShape, storage: a.storage)
    } catch {
      throw .engine(error)
    }
    let (channels, height, width) = (input.shape[1], input.shape[2], input.shape[3])
    let masks = Self.scoreCAMMasks(activation, height: height, width: width)
    var classScores: [Float] = []
    for start in stride(from: 0, to: masks.count, by: batchSize) {
      let batch = masks[start..<min(start + batchSize, masks.count)].map { mask in
        var masked = input
        for c in 0..<channels {
          for i in 0..<(height * width) { masked.storage[c * height * width + i] *= mask[i] }
        }
        return masked
      }
      let scores = try scores(Tensor.concatenatingSamples(batch))
      classScores += (0..<batch.count).map { scores.storage[$0 * classCount + classIndex] }
    }
    let weights = Self.probabilities(classScores)
    let plane = activation.shape[1] * activation.shape[2]
    var cam = Tensor(zeros: Shape(activation.shape[1], activation.shape[2]))
    for (k, weight) in weights.enumerated() {
      for i in 0..<plane { cam.storage[i] += weight * activation.storage[k * plane + i] }
    }
    for i in 0..<plane { cam.storage[i] = max(cam.storage[i], 0) }
    return cam
  }
}
