import Engine
import Foundation
import Tensors
import XCTest

@testable import Explain

/// The properties each method must have, on tiny models whose gradients
/// can be written down by hand.
final class ExplainerTests: XCTestCase {
  static func random(_ shape: Shape, _ g: inout SeededGenerator, scale: Float = 1) -> Tensor {
    Tensor(shape: shape, storage: (0..<shape.count).map { _ in g.nextFloat(in: -scale, scale) })
  }

  /// conv (4 filters) → ReLU → flatten → dense (3) → softmax on 1×5×6
  /// inputs: the logit's gradient at the ReLU output is a dense column.
  static func convDense(seed: UInt64) -> Network {
    var g = SeededGenerator(seed: seed)
    return Network(
      inputShape: Shape(1, 5, 6),
      layers: [
        Conv2D(inputChannels: 1, filters: 4, kernelSize: (3, 3), padding: .same, generator: &g),
        Activation(.relu),
        Flatten(),
        Dense(inputFeatures: 120, units: 3, generator: &g),
        Activation(.softmax),
      ])
  }

  /// Two convolutions with max pooling between them, dropout and two dense
  /// layers: every op the model files use.
  static func deeper(seed: UInt64, channels: Int = 1) -> Network {
    var g = SeededGenerator(seed: seed)
    return Network(
      inputShape: Shape(channels, 12, 12),
      layers: [
        Conv2D(inputChannels: channels, filters: 6, kernelSize: (3, 3), generator: &g),
        Activation(.relu),
        Pooling2D(.max),
        Conv2D(inputChannels: 6, filters: 8, kernelSize: (3, 3), generator: &g),
        Activation(.relu),
        Dropout(rate: 0.5, generator: g.split()),
        Flatten(),
        Dense(inputFeatures: 8 * 3 * 3, units: 16, generator: &g),
        Activation(.relu),
        Dense(inputFeatures: 16, units: 4, generator: &g),
        Activation(.softmax),
      ])
  }

  /// The dense layer's gradient at the ReLU output by hand: Flatten emits
  /// channels-last order, so ∂logit_c/∂A[k, y, x] = W[(y·w + x)·K + k, c].
  func testGradCAMIsTheHandComputedGradientWeightedSum() throws {
    var g = SeededGenerator(seed: 1)
    let network = Self.convDense(seed: 2)
    guard let dense = network.layers[3] as? Dense else { return XCTFail("layer 3 is Dense") }
    let w = dense.kernel.value
    var explainer = Explainer(network: network)
    XCTAssertEqual(explainer.defaultLayer, "1")
    let input = Self.random(Shape(1, 1, 5, 6), &g)
    var probe = network
    let a = try probe.activation(of: "1", for: input)
    for c in 0..<3 {
      var gradient = [Float](repeating: 0, count: 4 * 30)
      for k in 0..<4 {
        for p in 0..<30 { gradient[k * 30 + p] = w.storage[(p * 4 + k) * 3 + c] }
      }
      var gradCAM = [Float](repeating: 0, count: 30)
      var layerCAM = [Float](repeating: 0, count: 30)
      for k in 0..<4 {
        let alpha = gradient[(k * 30)..<((k + 1) * 30)].reduce(0, +) / 30
        for p in 0..<30 {
          gradCAM[p] += alpha * a.storage[k * 30 + p]
          layerCAM[p] += max(gradient[k * 30 + p], 0) * a.storage[k * 30 + p]
        }
      }
      let grad = try explainer.explain(input, classIndex: c, method: .gradCAM(layer: "1"))
      let layer = try explainer.explain(input, classIndex: c, method: .layerCAM(layer: "1"))
      for p in 0..<30 {
        XCTAssertEqual(grad.layerMap?.storage[p] ?? .nan, max(gradCAM[p], 0), accuracy: 1e-5)
        XCTAssertEqual(layer.layerMap?.storage[p] ?? .nan, max(layerCAM[p], 0), accuracy: 1e-5)
      }
      // The layer is at the input's size: upsampling changes nothing.
      XCTAssertEqual(grad.map.storage, grad.layerMap?.storage)
    }
  }

  /// Score-CAM written out: each channel's min-max scaled map masks the
  /// input, the masked inputs are scored one by one, and the softmax of
  /// those scores weights the channels.
  func testScoreCAMWeightsAreTheSoftmaxOfMaskedScores() throws {
    var g = SeededGenerator(seed: 17)
    let network = Self.convDense(seed: 18)
    var explainer = Explainer(network: network, batchSize: 3)
    let input = Self.random(Shape(1, 1, 5, 6), &g)
    var probe = network
    let a = try probe.activation(of: "1", for: input)
    for c in 0..<3 {
      var scores: [Double] = []
      for k in 0..<4 {
        let plane = Array(a.storage[(k * 30)..<((k + 1) * 30)])
        let (lo, hi) = (plane.min()!, plane.max()!)
        var masked = input
        for p in 0..<30 { masked.storage[p] *= (plane[p] - lo) / (hi - lo + 1e-8) }
        scores.append(Double(try explainer.scores(masked).storage[c]))
      }
      let top = scores.max()!
      let e = scores.map { Foundation.exp($0 - top) }
      let weights = e.map { $0 / e.reduce(0, +) }
      let cam = try XCTUnwrap(
        explainer.explain(input, classIndex: c, method: .scoreCAM(layer: "1")).layerMap)
      for p in 0..<30 {
        let expected = (0..<4).map { weights[$0] * Double(a.storage[$0 * 30 + p]) }.reduce(0, +)
        XCTAssertEqual(Double(cam.storage[p]), max(expected, 0), accuracy: 1e-5)
      }
    }
  }

  /// Grad-CAM++ against its formula written out per channel, with
  /// pytorch-grad-cam's eps (1e-6 since 2021); gradients of 1e-3, whose
  /// squares are the size of eps, tell eps apart (regression: convviz had
  /// 1e-7, r 0.9994 against pytorch-grad-cam on ResNet-18).
  func testGradCAMPlusPlusWeightsFollowTheClosedForm() throws {
    var g = SeededGenerator(seed: 3)
    for scale: Float in [2, 1e-3] {
      let a = Self.random(Shape(2, 3, 3), &g)
      let grad = Self.random(Shape(2, 3, 3), &g, scale: scale)
      let cam = Explainer.classActivationMap(
        activation: a, gradient: grad, method: .gradCAMPlusPlus(layer: ""))
      var expected = [Float](repeating: 0, count: 9)
      for k in 0..<2 {
        let sumA = (0..<9).map { a.storage[k * 9 + $0] }.reduce(0, +)
        var weight: Float = 0
        for p in 0..<9 {
          let x = grad.storage[k * 9 + p]
          let alpha = x == 0 ? 0 : x * x / (2 * x * x + sumA * x * x * x + 1e-6)
          weight += alpha * max(x, 0)
        }
        for p in 0..<9 { expected[p] += weight * a.storage[k * 9 + p] }
      }
      XCTAssertGreaterThan(expected.max() ?? 0, 0)
      for p in 0..<9 {
        let want = max(expected[p], 0)
        XCTAssertEqual(cam.storage[p], want, accuracy: 1e-4 * abs(want) + 1e-9, "\(scale)")
      }
    }
  }

  /// Sundararajan et al.'s completeness: the attributions sum to
  /// f(x) − f(baseline), here within 1%, for black and random baselines.
  func testIntegratedGradientsAreComplete() throws {
    var g = SeededGenerator(seed: 4)
    var explainer = Explainer(network: Self.deeper(seed: 5, channels: 3), batchSize: 16)
    let input = Self.random(Shape(1, 3, 12, 12), &g)
    for baseline in [Baseline.black(like: input), Self.random(input.shape, &g, scale: 0.5)] {
      let fx = try explainer.scores(input).storage
      let fb = try explainer.scores(baseline).storage
      for c in 0..<4 {
        let attribution = try explainer.integratedGradients(
          input, classIndex: c, steps: 512, baseline: baseline)
        let total = attribution.storage.reduce(0, +)
        let difference = fx[c] - fb[c]
        XCTAssertEqual(
          total, difference, accuracy: 0.01 * abs(difference) + 1e-5, "class \(c)")
        let map = try explainer.explain(
          input, classIndex: c, method: .integratedGradients(steps: 512, baseline: baseline)
        ).map
        XCTAssertEqual(map.storage.reduce(0, +), total, accuracy: 1e-4 * (abs(total) + 1))
        let explained = try explainer.explain(
          input, classIndex: c, method: .integratedGradients(steps: 4, baseline: baseline))
        XCTAssertEqual(explained.score, fx[c])
        XCTAssertEqual(explained.baselineScore, fb[c])
      }
    }
  }

  /// With the stride equal to the window, each pixel holds its window's
  /// class-score drop; overlapping windows (and a batch that does not
  /// divide the windows) agree with the one-window-at-a-time reference.
  func testOcclusionIsTheScoreDropPerWindow() throws {
    var g = SeededGenerator(seed: 6)
    var explainer = Explainer(network: Self.deeper(seed: 7), batchSize: 5)
    let input = Self.random(Shape(1, 1, 12, 12), &g)
    let score = try explainer.scores(input).storage[2]
    let map = try explainer.explain(input, classIndex: 2, method: .occlusion(window: 4, stride: 4))
      .map
    for wy in 0..<3 {
      for wx in 0..<3 {
        var occluded = input
        for y in (wy * 4)..<(wy * 4 + 4) {
          for x in (wx * 4)..<(wx * 4 + 4) { occluded.storage[y * 12 + x] = 0 }
        }
        let drop = score - (try explainer.scores(occluded).storage[2])
        for y in (wy * 4)..<(wy * 4 + 4) {
          for x in (wx * 4)..<(wx * 4 + 4) {
            XCTAssertEqual(map.storage[y * 12 + x], drop, accuracy: 1e-5)
          }
        }
      }
    }
    let overlapping = try explainer.explain(
      input, classIndex: 1, method: .occlusion(window: 5, stride: 2)
    ).map
    let reference = try explainer.occlusionReference(input, classIndex: 1, window: 5, stride: 2)
    for i in 0..<overlapping.count {
      XCTAssertEqual(overlapping.storage[i], reference.storage[i], accuracy: 1e-5)
    }
    XCTAssertEqual(Explainer.windowStarts(size: 12, window: 5, stride: 2), [0, 2, 4, 6, 8])
  }

  /// The gradient methods take the class scores from their own forward
  /// pass (dropout off): the same score and probability as an inference
  /// pass, as the methods that score first report.
  func testGradientMethodsReportTheInferenceScores() throws {
    var g = SeededGenerator(seed: 18)
    var explainer = Explainer(network: Self.deeper(seed: 19, channels: 3))
    let input = Self.random(Shape(1, 3, 12, 12), &g)
    let scores = try explainer.scores(input).storage
    let probabilities = Explainer.probabilities(scores)
    let layer = try XCTUnwrap(explainer.defaultLayer)
    let methods: [AttributionMethod] = [
      .gradCAM(layer: layer), .gradCAMPlusPlus(layer: layer), .layerCAM(layer: layer),
      .saliency, .occlusion(window: 4, stride: 2),
    ]
    for method in methods {
      let attribution = try explainer.explain(input, classIndex: 2, method: method)
      XCTAssertEqual(attribution.score, scores[2], accuracy: 1e-5, "\(method)")
      XCTAssertEqual(attribution.probability, probabilities[2], accuracy: 1e-6, "\(method)")
    }
  }

  /// Captum's `Occlusion` slides ceil((size − window) / stride) + 1
  /// windows along each axis, the last one clipped at the far edge, so a
  /// stride that does not divide size − window still covers every pixel;
  /// the edge pixels hold the clipped window's drop (regression: convviz
  /// stopped at the last window that fitted and left the edge at 0).
  func testOcclusionWindowsReachTheFarEdgeAsCaptums() throws {
    XCTAssertEqual(Explainer.windowStarts(size: 12, window: 6, stride: 4), [0, 4, 8])
    XCTAssertEqual(
      Explainer.windowStarts(size: 32, window: 6, stride: 4),
      Array(stride(from: 0, through: 28, by: 4)))
    XCTAssertEqual(Explainer.windowStarts(size: 12, window: 4, stride: 4), [0, 4, 8])
    XCTAssertEqual(Explainer.windowStarts(size: 12, window: 2, stride: 7), [0, 7])
    XCTAssertEqual(Explainer.windowStarts(size: 12, window: 20, stride: 3), [0])
    var g = SeededGenerator(seed: 16)
    var explainer = Explainer(network: Self.deeper(seed: 17), batchSize: 4)
    let input = Self.random(Shape(1, 1, 12, 12), &g)
    let score = try explainer.scores(input).storage[0]
    let map = try explainer.explain(input, classIndex: 0, method: .occlusion(window: 6, stride: 4))
      .map
    // Pixel (11, 11) is covered by one window only: rows and columns 8..<12.
    var occluded = input
    for y in 8..<12 {
      for x in 8..<12 { occluded.storage[y * 12 + x] = 0 }
    }
    let drop = score - (try explainer.scores(occluded).storage[0])
    XCTAssertNotEqual(drop, 0)
    XCTAssertEqual(map.storage[11 * 12 + 11], drop, accuracy: 1e-5)
    let reference = try explainer.occlusionReference(input, classIndex: 0, window: 6, stride: 4)
    for i in 0..<map.count { XCTAssertEqual(map.storage[i], reference.storage[i], accuracy: 1e-5) }
  }

  /// The saliency map is max over channels of |∂y/∂x|: checked against
  /// central differences of the class score.
  func testSaliencyIsTheLargestAbsoluteGradientOverChannels() throws {
    var g = SeededGenerator(seed: 8)
    var explainer = Explainer(network: Self.deeper(seed: 9, channels: 3))
    let input = Self.random(Shape(1, 3, 12, 12), &g)
    let map = try explainer.explain(input, classIndex: 1, method: .saliency).map
    for p in stride(from: 0, to: 144, by: 11) {
      var largest: Float = 0
      for c in 0..<3 {
        var plus = input
        var minus = input
        plus.storage[c * 144 + p] += 1e-2
        minus.storage[c * 144 + p] -= 1e-2
        let d =
          (try explainer.scores(plus).storage[1] - explainer.scores(minus).storage[1]) / 2e-2
        largest = max(largest, abs(d))
      }
      XCTAssertEqual(map.storage[p], largest, accuracy: 2e-2 * (largest + 0.05), "pixel \(p)")
    }
  }

  /// SmoothGrad without noise is saliency; the seed fixes the noise.
  func testSmoothGradIsSeededAndReducesToSaliency() throws {
    var g = SeededGenerator(seed: 10)
    var explainer = Explainer(network: Self.deeper(seed: 11), batchSize: 3)
    let input = Self.random(Shape(1, 1, 12, 12), &g)
    let saliency = try explainer.explain(input, classIndex: 0, method: .saliency).map
    let noiseless = try explainer.explain(
      input, classIndex: 0, method: .smoothGrad(samples: 4, noise: 0, seed: 1)
    ).map
    for i in 0..<saliency.count {
      XCTAssertEqual(noiseless.storage[i], saliency.storage[i], accuracy: 1e-6)
    }
    let a = try explainer.explain(
      input, classIndex: 0, method: .smoothGrad(samples: 7, noise: 0.2, seed: 1)
    ).map
    let b = try explainer.explain(
      input, classIndex: 0, method: .smoothGrad(samples: 7, noise: 0.2, seed: 1)
    ).map
    let c = try explainer.explain(
      input, classIndex: 0, method: .smoothGrad(samples: 7, noise: 0.2, seed: 2)
    ).map
    XCTAssertEqual(a, b)
    XCTAssertNotEqual(a, c)
  }

  /// Spearman's rank correlation of two maps; 0 when one is constant (a
  /// map that became flat keeps none of the other's order).
  static func rankCorrelation(_ a: [Float], _ b: [Float]) -> Double {
    func ranks(_ v: [Float]) -> [Double] {
      let order = v.indices.sorted { v[$0] < v[$1] }
      var r = [Double](repeating: 0, count: v.count)
      var i = 0
      while i < order.count {
        var j = i
        while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
        for k in i...j { r[order[k]] = Double(i + j) / 2 }
        i = j + 1
      }
      return r
    }
    let (ra, rb) = (ranks(a), ranks(b))
    let (ma, mb) = (ra.reduce(0, +) / Double(ra.count), rb.reduce(0, +) / Double(rb.count))
    var (sab, saa, sbb) = (0.0, 0.0, 0.0)
    for i in ra.indices {
      sab += (ra[i] - ma) * (rb[i] - mb)
      saa += (ra[i] - ma) * (ra[i] - ma)
      sbb += (rb[i] - mb) * (rb[i] - mb)
    }
    return saa == 0 || sbb == 0 ? 0 : sab / (saa * sbb).squareRoot()
  }

  /// Adebayo et al. (2018)'s model-randomization check: new random
  /// weights in the top layer must change the maps (rank correlation
  /// below 0.5). Grad-CAM++ at layer 1 (0.95 here), Score-CAM at layer 1
  /// (1.00) and SmoothGrad (0.58) fail it on this model, as
  /// docs/explain.md records.
  func testMapsFailToSurviveRandomizingTheTopLayer() throws {
    var g = SeededGenerator(seed: 12)
    let network = Self.deeper(seed: 13)
    var randomized = network
    var draw = SeededGenerator(seed: 14)
    var visited = 0
    let parameterCount = {
      var copy = network
      var count = 0
      copy.forEachParameter { _ in count += 1 }
      return count
    }()
    randomized.forEachParameter { parameter in
      if visited >= parameterCount - 2 {
        parameter.value = Self.random(parameter.value.shape, &draw, scale: 0.5)
      }
      visited += 1
    }
    let input = Self.random(Shape(1, 1, 12, 12), &g)
    var before = Explainer(network: network)
    var after = Explainer(network: randomized)
    let top = try before.rankedClasses(input)[0].0
    for method: AttributionMethod in [
      .saliency, .gradCAM(layer: "4"), .gradCAM(layer: "1"), .layerCAM(layer: "1"),
      .integratedGradients(steps: 32, baseline: Tensor(zeros: input.shape)),
    ] {
      let a = try before.explain(input, classIndex: top, method: method).map.storage
      let b = try after.explain(input, classIndex: top, method: method).map.storage
      XCTAssertLessThan(Self.rankCorrelation(a, b), 0.5, "\(method)")
      XCTAssertEqual(Self.rankCorrelation(a, a), 1, accuracy: 1e-9, "\(method)")
    }
  }

  func testBilinearResizeMatchesOpenCV() {
    let map = Tensor(shape: Shape(2, 2), storage: [0, 1, 2, 3])
    // cv2.resize(np.float32([[0, 1], [2, 3]]), (4, 4)) with INTER_LINEAR.
    XCTAssertEqual(
      Bilinear.resize(map, height: 4, width: 4).storage,
      [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3])
    let row = Tensor(shape: Shape(1, 4), storage: [0, 1, 2, 3])
    XCTAssertEqual(Bilinear.resize(row, height: 1, width: 2).storage, [0.5, 2.5])
    XCTAssertEqual(Bilinear.resize(row, height: 1, width: 4).storage, row.storage)
  }

  /// Against OpenCV itself: `scripts/make-explain-fixtures.py` wrote what
  /// cv2.resize (INTER_LINEAR, float32) makes of fixed random maps, up,
  /// down and at the same size.
  func testBilinearResizeMatchesOpenCVsOutputs() throws {
    let url = try XCTUnwrap(
      Bundle.module.url(forResource: "cv2-resize", withExtension: "txt", subdirectory: "Fixtures"))
    let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
      .filter { !$0.hasPrefix("#") }
    XCTAssertEqual(lines.count, 15, "five cases")
    for start in stride(from: 0, to: lines.count, by: 3) {
      let size = lines[start].split(separator: " ").dropFirst().compactMap { Int($0) }
      let source = lines[start + 1].split(separator: " ").compactMap { Float($0) }
      let expected = lines[start + 2].split(separator: " ").compactMap { Float($0) }
      let resized = Bilinear.resize(
        Tensor(shape: Shape(size[0], size[1]), storage: source), height: size[2], width: size[3])
      XCTAssertEqual(resized.shape, Shape(size[2], size[3]))
      XCTAssertEqual(expected.count, resized.count)
      let worst = zip(resized.storage, expected).map { abs($0 - $1) }.max() ?? .infinity
      XCTAssertLessThan(worst, 1e-5, "\(lines[start])")
    }
  }

  func testLayersAndClassesAreChecked() throws {
    var explainer = Explainer(network: Self.deeper(seed: 15))
    XCTAssertEqual(explainer.defaultLayer, "4")
    XCTAssertEqual(explainer.spatialLayers, ["0", "1", "2", "3", "4", "5"])
    let input = Tensor(zeros: Shape(1, 1, 12, 12))
    XCTAssertThrowsError(try explainer.explain(input, classIndex: 0, method: .gradCAM(layer: "x")))
    {
      XCTAssertEqual($0 as? ExplainError, .noSuchLayer("x", valid: ["0", "1", "2", "3", "4", "5"]))
    }
    XCTAssertThrowsError(try explainer.explain(input, classIndex: 0, method: .gradCAM(layer: "6")))
    {
      XCTAssertEqual(
        $0 as? ExplainError,
        .notSpatial(layer: "6", shape: Shape(72), valid: ["0", "1", "2", "3", "4", "5"]))
    }
    XCTAssertThrowsError(try explainer.explain(input, classIndex: 4, method: .saliency)) {
      XCTAssertEqual($0 as? ExplainError, .classOutOfRange(4, classCount: 4))
    }
    XCTAssertThrowsError(
      try explainer.explain(
        input, classIndex: 0,
        method: .integratedGradients(steps: 4, baseline: Tensor(zeros: Shape(1, 1, 8, 8))))
    ) {
      XCTAssertEqual(
        $0 as? ExplainError, .baselineShape(expected: Shape(1, 12, 12), found: Shape(1, 8, 8)))
    }
    var g = SeededGenerator(seed: 1)
    let dense = Network(
      inputShape: Shape(4), layers: [Dense(inputFeatures: 4, units: 2, generator: &g)])
    XCTAssertNil(Explainer(network: dense).defaultLayer)
  }

  /// The blurred baseline keeps a constant image and each channel's mean.
  func testBlurredBaselineKeepsConstantsAndMeans() {
    let flat = Tensor(shape: Shape(1, 2, 6, 7), repeating: 0.25)
    for v in Baseline.blurred(flat).storage { XCTAssertEqual(v, 0.25, accuracy: 1e-6) }
    var g = SeededGenerator(seed: 16)
    let noisy = Self.random(Shape(1, 1, 10, 10), &g)
    let blurred = Baseline.blurred(noisy)
    let spread = { (t: Tensor) in (t.storage.max() ?? 0) - (t.storage.min() ?? 0) }
    XCTAssertLessThan(spread(blurred), spread(noisy) / 2)
  }
}
