import Foundation
import Tensors

/// The methods that attribute to input pixels: SmoothGrad, integrated
/// gradients and occlusion, each running its many passes in batches.
extension Explainer {
  /// The mean over `samples` noisy copies of the saliency map (H, W).
  mutating func smoothGrad(
    _ input: Tensor, classIndex: Int, samples: Int, noise: Float, seed: UInt64
  ) throws(ExplainError) -> Tensor {
    precondition(samples >= 1, "SmoothGrad needs at least one sample")
    let (lo, hi) = (input.storage.min() ?? 0, input.storage.max() ?? 0)
    let sigma = noise * (hi - lo)
    var generator = SeededGenerator(seed: seed)
    var noisy = Tensor(zeros: Shape([samples] + input.sampleShape.dims))
    for n in 0..<samples {
      for i in 0..<input.count {
        noisy.storage[n * input.count + i] = input.storage[i] + sigma * generator.nextGaussian()
      }
    }
    let g = try inputGradients(noisy, classIndex: classIndex)
    var map = Tensor(zeros: Shape(input.shape[2], input.shape[3]))
    for n in 0..<samples {
      let one = Self.maxAbsOverChannels(g.samples(n..<(n + 1)))
      for i in 0..<map.count { map.storage[i] += one.storage[i] / Float(samples) }
    }
    return map
  }

  /// Integrated gradients per input element (1, C, H, W): (x − x′) times
  /// the mean gradient at x′ + α(x − x′), α = (s + ½) / steps.
  public mutating func integratedGradients(
    _ input: Tensor, classIndex: Int, steps: Int, baseline: Tensor
  ) throws(ExplainError) -> Tensor {
    precondition(steps >= 1, "integrated gradients need at least one step")
    var path = Tensor(zeros: Shape([steps] + input.sampleShape.dims))
    for s in 0..<steps {
      let alpha = (Float(s) + 0.5) / Float(steps)
      for i in 0..<input.count {
        path.storage[s * input.count + i] =
          baseline.storage[i] + alpha * (input.storage[i] - baseline.storage[i])
      }
    }
    let g = try inputGradients(path, classIndex: classIndex)
    var attribution = Tensor(zeros: input.shape)
    for i in 0..<input.count {
      var sum: Double = 0
      for s in 0..<steps { sum += Double(g.storage[s * input.count + i]) }
      attribution.storage[i] =
        (input.storage[i] - baseline.storage[i]) * Float(sum / Double(steps))
    }
    return attribution
  }

  /// The windows' top-left corners along an axis of `size`: every
  /// `stride` from 0, ceil((size − window) / stride) + 1 of them, as
  /// Captum's `Occlusion` counts its shifts, so that when the stride does
  /// not divide size − window the last window passes the far edge and is
  /// clipped there (every pixel is covered when the stride is at most the
  /// window; Captum refuses a larger one, convviz leaves the gaps at 0).
  static func windowStarts(size: Int, window: Int, stride: Int) -> [Int] {
    guard window < size else { return [0] }
    let shifts = (size - window + stride - 1) / stride
    return (0...shifts).map { $0 * stride }.filter { $0 < size }
  }

  /// `input` with the window at (y, x) set to zero in every channel.
  static func occluded(_ input: Tensor, y: Int, x: Int, window: Int) -> Tensor {
    var copy = input
    let (c, h, w) = (input.shape[1], input.shape[2], input.shape[3])
    for k in 0..<c {
      for yy in y..<min(y + window, h) {
        for xx in x..<min(x + window, w) { copy.storage[(k * h + yy) * w + xx] = 0 }
      }
    }
    return copy
  }

  /// Occlusion's map (H, W): each pixel's mean score drop over the windows
  /// covering it (0 where none does); the occluded copies are scored
  /// `batchSize` at a time.
  mutating func occlusion(
    _ input: Tensor, classIndex: Int, window: Int, stride: Int, score: Float
  ) throws(ExplainError) -> Tensor {
    precondition(window >= 1 && stride >= 1, "window and stride must be at least 1")
    let (h, w) = (input.shape[2], input.shape[3])
    var corners: [(Int, Int)] = []
    for y in Self.windowStarts(size: h, window: window, stride: stride) {
      for x in Self.windowStarts(size: w, window: window, stride: stride) { corners.append((y, x)) }
    }
    var drops: [Float] = []
    for start in Swift.stride(from: 0, to: corners.count, by: batchSize) {
      let batch = corners[start..<min(start + batchSize, corners.count)].map {
        Self.occluded(input, y: $0.0, x: $0.1, window: window)
      }
      let scores = try scores(Tensor.concatenatingSamples(batch))
      let classes = classCount
      drops += (0..<batch.count).map { score - scores.storage[$0 * classes + classIndex] }
    }
    return Self.spreadDrops(drops, corners: corners, window: window, height: h, width: w)
  }

  /// Each pixel's mean over the drops of the windows covering it.
  static func spreadDrops(
    _ drops: [Float], corners: [(Int, Int)], window: Int, height h: Int, width w: Int
  ) -> Tensor {
    var sum = [Float](repeating: 0, count: h * w)
    var count = [Float](repeating: 0, count: h * w)
    for (drop, (y, x)) in zip(drops, corners) {
      for yy in y..<min(y + window, h) {
        for xx in x..<min(x + window, w) {
          sum[yy * w + xx] += drop
          count[yy * w + xx] += 1
        }
      }
    }
    return Tensor(
      shape: Shape(h, w), storage: zip(sum, count).map { $1 > 0 ? $0 / $1 : 0 })
  }

  /// Occlusion the plain way, one window per forward pass: what the
  /// batched `occlusion` is tested against.
  mutating func occlusionReference(
    _ input: Tensor, classIndex: Int, window: Int, stride: Int
  ) throws(ExplainError) -> Tensor {
    let score = try scores(input).storage[classIndex]
    var drops: [Float] = []
    var corners: [(Int, Int)] = []
    for y in Self.windowStarts(size: input.shape[2], window: window, stride: stride) {
      for x in Self.windowStarts(size: input.shape[3], window: window, stride: stride) {
        let occludedScore = try scores(Self.occluded(input, y: y, x: x, window: window))
        drops.append(score - occludedScore.storage[classIndex])
        corners.append((y, x))
      }
    }
    return Self.spreadDrops(
      drops, corners: corners, window: window, height: input.shape[2], width: input.shape[3])
  }
}

/// Baselines for integrated gradients.
public enum Baseline {
  /// All zeros: a black image.
  public static func black(like input: Tensor) -> Tensor { Tensor(zeros: input.shape) }

  /// `input` (1, C, H, W) blurred by a Gaussian of σ = max(H, W) / 10
  /// pixels (borders reflected), so that edges are gone but the mean
  /// colours stay.
  public static func blurred(_ input: Tensor) -> Tensor {
    let (c, h, w) = (input.shape[1], input.shape[2], input.shape[3])
    return Tensor(
      shape: input.shape,
      storage: GaussianBlur.blur(
        input.storage[...], channels: c, height: h, width: w, sigma: Double(max(h, w)) / 10))
  }
}

extension SeededGenerator {
  /// A standard normal Float (Box–Muller on two uniform draws; the second
  /// normal is dropped, so each call takes exactly two draws).
  mutating func nextGaussian() -> Float {
    let u1 = 1 - Double(nextUnitFloat())  // in (0, 1], so the log is finite
    let u2 = Double(nextUnitFloat())
    return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
  }
}
