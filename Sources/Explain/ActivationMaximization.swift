import Datasets
import Engine
import Foundation
import Tensors
import Training

/// What activation maximization makes large.
public enum MaximizationObjective: Sendable, Equatable {
  /// The mean over positions of one channel (a unit) of `layer`'s
  /// (C, H, W) output.
  case channel(layer: String)
  /// One class score: the logit under a final softmax, else the output.
  case classScore
}

/// How activation maximization searches: gradient ascent with Adam on a
/// parameterized image, seen by the network through a random transform
/// each step, with optional penalties (Olah et al. 2017, "Feature
/// Visualization"; Yosinski et al. 2015 for the blur).
public struct MaximizationSettings: Sendable, Equatable {
  /// How the optimised numbers become an image; either way the image is
  /// a sigmoid of them, so it stays in 0…1.
  public enum Parameterization: String, Sendable, CaseIterable {
    /// One number per pixel and channel.
    case pixel
    /// Lucid's scaled half spectrum (`FourierImage`).
    case fft
  }

  public var steps = 256
  public var learningRate: Float = 0.05
  public var seed: UInt64 = 0
  public var parameterization = Parameterization.fft
  /// Each step shifts the image by up to ± this many pixels (uniform, in
  /// whole pixels) before the network sees it.
  public var jitter = 1
  /// Each step scales by a factor drawn uniformly from 1 ± this.
  public var scaleRange: Float = 0.05
  /// Each step rotates by an angle drawn uniformly from ± this, degrees.
  public var rotation: Float = 5
  /// Weight of the total-variation penalty: the mean over pixels of the
  /// squared differences between horizontal and vertical neighbours.
  public var totalVariation: Float = 0
  /// Weight of the L2 penalty: the mean squared distance from grey 0.5.
  public var l2: Float = 0
  /// With pixel parameters, blur them by a Gaussian of this σ (pixels)
  /// after each step; 0 turns it off.
  public var blur: Float = 0
  /// Units optimised together in one batch (results do not depend on it).
  public var batchSize = 16
  /// What the model does to an image's [0, 1] RGB values before its first
  /// layer (ImageNet's mean and std, BGR order): the image is optimised in
  /// [0, 1] and the network sees it through this, as it sees photos.
  public var preprocessing = Preprocessing.standard

  public init() {}
}

/// One unit's maximizing input.
public struct MaximizedInput: Sendable {
  public var unit: Int
  /// (C, H, W) in 0…1.
  public var image: Tensor
  /// The objective (the unit's mean activation, before a ReLU that ends
  /// the layer, without penalties) on the transformed image at each step.
  public var history: [Float]
}

extension Explainer {
  /// The inputs of shape `shape` (C, H, W) that maximize `objective` for
  /// each of `units`, optimised `settings.batchSize` at a time. Each
  /// unit's noise and transforms come from a generator seeded by the seed
  /// and the unit, so a unit's image does not depend on the others.
  /// `progress` hears the steps done, of steps × batches.
  public mutating func maximize(
    _ objective: MaximizationObjective, units: [Int], shape: Shape,
    settings: MaximizationSettings, progress: (_ stepsDone: Int) -> Void = { _ in }
  ) throws(ExplainError) -> [MaximizedInput] {
    precondition(shape.rank == 3, "the input shape is (C, H, W)")
    precondition(settings.steps >= 1 && settings.batchSize >= 1, "steps and batch size ≥ 1")
    let count = try unitCount(of: objective, inputShape: shape)
    if let bad = units.first(where: { $0 < 0 || $0 >= count }) {
      switch objective {
      case .classScore: throw .classOutOfRange(bad, classCount: count)
      case .channel(let layer): throw .unitOutOfRange(bad, unitCount: count, layer: layer)
      }
    }
    var measured = objective
    if case .channel(let layer) = objective { measured = .channel(layer: objectiveLayer(layer)) }
    var results: [MaximizedInput] = []
    for (index, start) in stride(from: 0, to: units.count, by: settings.batchSize).enumerated() {
      let batch = Array(units[start..<min(start + settings.batchSize, units.count)])
      results += try maximizeBatch(measured, units: batch, shape: shape, settings: settings) {
        progress(index * settings.steps + $0)
      }
    }
    return results
  }

  /// The tensor a channel objective is measured on: `layer`, or the input
  /// of the ReLU that produces it (as Lucid maximizes `…_pre_relu`
  /// layers), so that a unit that is off everywhere at the start, as on a
  /// grey image, still has a gradient. Where the unit is on, the two agree.
  public func objectiveLayer(_ layer: String) -> String {
    guard let node = network.graph.nodes.first(where: { $0.output == layer }),
      let activation = node.op as? Activation, activation.function == .relu,
      node.inputs.count == 1
    else { return layer }
    return node.inputs[0]
  }

  /// How many units `objective` has: the layer's channels or the classes.
  public mutating func unitCount(
    of objective: MaximizationObjective, inputShape: Shape
  ) throws(ExplainError) -> Int {
    switch objective {
    case .classScore:
      return classCount
    case .channel(let layer):
      try checkLayer(layer)
      guard let k = network.graph.nodes.firstIndex(where: { $0.output == layer }) else {
        preconditionFailure("a checked layer is a node's output")
      }
      return network.graph.tensorShapes[k + 1][0]
    }
  }

  /// The random transform of one step.
  static func randomWarp(
    height: Int, width: Int, settings: MaximizationSettings, generator g: inout SeededGenerator
  ) -> Bilinear.Warp {
    let j = settings.jitter
    let dx = j > 0 ? Int(g.next() % UInt64(2 * j + 1)) - j : 0
    let dy = j > 0 ? Int(g.next() % UInt64(2 * j + 1)) - j : 0
    let s = 1 + settings.scaleRange * (2 * g.nextUnitFloat() - 1)
    let r = settings.rotation * (2 * g.nextUnitFloat() - 1)
    return Bilinear.Warp(
      height: height, width: width, scale: s, rotation: r, shiftX: Float(dx), shiftY: Float(dy))
  }

  private mutating func maximizeBatch(
    _ objective: MaximizationObjective, units: [Int], shape: Shape,
    settings: MaximizationSettings, progress: (Int) -> Void
  ) throws(ExplainError) -> [MaximizedInput] {
    let (c, h, w) = (shape[0], shape[1], shape[2])
    let pixels = c * h * w
    let fourier =
      settings.parameterization == .fft ? FourierImage(channels: c, height: h, width: w) : nil
    let size = fourier?.parameterCount ?? pixels
    var generators = units.map { SeededGenerator(seed: Self.unitSeed(settings.seed, unit: $0)) }
    var initial = [Float](repeating: 0, count: units.count * size)
    for n in units.indices {
      for i in 0..<size { initial[n * size + i] = 0.01 * generators[n].nextGaussian() }
    }
    var parameter = Parameter(
      name: "image", value: Tensor(shape: Shape(units.count, size), storage: initial))
    var adam = Adam(learningRate: settings.learningRate)
    var histories = [[Float]](repeating: [], count: units.count)
    for step in 0..<settings.steps {
      var images = [Float](repeating: 0, count: units.count * pixels)
      var warped = images
      var warps: [Bilinear.Warp] = []
      for n in units.indices {
        let x = Self.image(parameter.value.storage[(n * size)..<((n + 1) * size)], fourier: fourier)
        images.replaceSubrange((n * pixels)..<((n + 1) * pixels), with: x)
        let warp = Self.randomWarp(
          height: h, width: w, settings: settings, generator: &generators[n])
        warped.replaceSubrange(
          (n * pixels)..<((n + 1) * pixels), with: warp.apply(x[...], channels: c))
        warps.append(warp)
      }
      PixelConversion.normalize(&warped, channels: c, pixels: h * w, settings.preprocessing)
      let (values, dNetwork) = try objectiveGradient(
        objective, units: units,
        input: Tensor(shape: Shape([units.count] + shape.dims), storage: warped))
      var dWarped = dNetwork
      Self.normalizationTranspose(
        &dWarped.storage, channels: c, pixels: h * w, settings.preprocessing)
      var dParameters = [Float](repeating: 0, count: units.count * size)
      for n in units.indices {
        histories[n].append(values[n])
        let range = (n * pixels)..<((n + 1) * pixels)
        var dImage = warps[n].applyTransposed(dWarped.storage[range], channels: c)
        Self.addPenaltyGradients(
          image: images[range], into: &dImage, channels: c, height: h, width: w,
          settings: settings)
        // Through the sigmoid: dx/draw = x(1 − x); Adam minimises, so the
        // gradient of −objective.
        for i in 0..<pixels {
          let x = images[range.lowerBound + i]
          dImage[i] = -dImage[i] * x * (1 - x)
        }
        let dRaw = fourier?.parameterGradient(dImage) ?? dImage
        dParameters.replaceSubrange((n * size)..<((n + 1) * size), with: dRaw)
      }
      parameter.grad = Tensor(shape: parameter.value.shape, storage: dParameters)
      adam.step { body in body(&parameter) }
      if settings.blur > 0, fourier == nil {
        parameter.value.storage = GaussianBlur.blur(
          parameter.value.storage[...], channels: units.count * c, height: h, width: w,
          sigma: Double(settings.blur))
      }
      progress(step + 1)
    }
    return units.indices.map { n in
      let x = Self.image(parameter.value.storage[(n * size)..<((n + 1) * size)], fourier: fourier)
      return MaximizedInput(
        unit: units[n], image: Tensor(shape: shape, storage: x), history: histories[n])
    }
  }

  /// The transpose of `PixelConversion.normalize`'s linear part, which
  /// carries a gradient at the network's input back to the [0, 1] RGB
  /// image: each channel times scale / std, then BGR back to RGB.
  static func normalizationTranspose(
    _ gradient: inout [Float], channels: Int, pixels: Int, _ preprocessing: Preprocessing
  ) {
    guard !preprocessing.leavesValues else { return }
    let scale = Float(preprocessing.scale.rawValue)
    let swap = preprocessing.channelOrder == .bgr && channels == 3
    for start in stride(from: 0, to: gradient.count, by: channels * pixels) {
      for c in 0..<channels {
        let factor = scale / preprocessing.meanAndStd(channel: c).std
        for p in 0..<pixels { gradient[start + c * pixels + p] *= factor }
      }
      if swap {
        for p in 0..<pixels { gradient.swapAt(start + p, start + 2 * pixels + p) }
      }
    }
  }

  /// A unit's generator seed: the seed mixed with the unit (SplitMix64's
  /// odd constant), so neighbouring units start far apart.
  static func unitSeed(_ seed: UInt64, unit: Int) -> UInt64 {
    seed ^ (UInt64(unit + 1) &* 0x9E37_79B9_7F4A_7C15)
  }

  /// The image (C, H, W) of one unit's parameters: a sigmoid of the pixels
  /// or of the Fourier image.
  static func image(_ parameters: ArraySlice<Float>, fourier: FourierImage?) -> [Float] {
    let raw = fourier.map { $0.image(Array(parameters)) } ?? Array(parameters)
    return raw.map { 1 / (1 + Foundation.exp(-$0)) }
  }

  /// Adds the gradients of −(tv·TV + l2·L2) to `dImage`, the gradient of
  /// the objective at the image.
  static func addPenaltyGradients(
    image: ArraySlice<Float>, into dImage: inout [Float], channels c: Int, height h: Int,
    width w: Int, settings: MaximizationSettings
  ) {
    let start = image.startIndex
    let n = Float(c * h * w)
    if settings.l2 > 0 {
      for i in 0..<(c * h * w) { dImage[i] -= settings.l2 * 2 * (image[start + i] - 0.5) / n }
    }
    guard settings.totalVariation > 0 else { return }
    let weight = settings.totalVariation * 2 / n
    for k in 0..<c {
      for y in 0..<h {
        for x in 0..<w {
          let i = (k * h + y) * w + x
          if x + 1 < w {
            let d = image[start + i + 1] - image[start + i]
            dImage[i + 1] -= weight * d
            dImage[i] += weight * d
          }
          if y + 1 < h {
            let d = image[start + i + w] - image[start + i]
            dImage[i + w] -= weight * d
            dImage[i] += weight * d
          }
        }
      }
    }
  }

  /// The penalties' value for one image: tv·TV + l2·L2 as above.
  static func penalty(
    image: ArraySlice<Float>, channels c: Int, height h: Int, width w: Int,
    settings: MaximizationSettings
  ) -> Float {
    let start = image.startIndex
    let n = Float(c * h * w)
    var l2: Float = 0
    var tv: Float = 0
    for k in 0..<c {
      for y in 0..<h {
        for x in 0..<w {
          let i = (k * h + y) * w + x
          l2 += (image[start + i] - 0.5) * (image[start + i] - 0.5)
          if x + 1 < w { tv += pow(image[start + i + 1] - image[start + i], 2) }
          if y + 1 < h { tv += pow(image[start + i + w] - image[start + i], 2) }
        }
      }
    }
    return settings.totalVariation * tv / n + settings.l2 * l2 / n
  }

  /// Each sample's objective for its unit and the objective's gradient at
  /// `input` (N, C, H, W): one forward and one backward for the batch.
  mutating func objectiveGradient(
    _ objective: MaximizationObjective, units: [Int], input: Tensor
  ) throws(ExplainError) -> (values: [Float], gradient: Tensor) {
    let n = units.count
    do {
      switch objective {
      case .classScore:
        let run = try network.forwardForGradients(input, logits: true)
        let classes = run.output.sampleShape.count
        var dOutput = Tensor(zeros: run.output.shape)
        for (i, unit) in units.enumerated() { dOutput.storage[i * classes + unit] = 1 }
        let values = units.enumerated().map { run.output.storage[$0 * classes + $1] }
        let back = try network.backwardForGradients(
          dOutput, inputGradient: true, parameterGradients: false)
        guard let d = back.dInput else { preconditionFailure("input gradient asked for") }
        return (values, d)
      case .channel(let layer):
        let a = try network.activation(of: layer, for: input, mode: .inferenceWithGradients)
        let (k, plane) = (a.shape[1], a.shape[2] * a.shape[3])
        var dA = Tensor(zeros: a.shape)
        var values = [Float](repeating: 0, count: n)
        for (i, unit) in units.enumerated() {
          let base = (i * k + unit) * plane
          var sum: Double = 0
          for p in 0..<plane {
            sum += Double(a.storage[base + p])
            dA.storage[base + p] = 1 / Float(plane)
          }
          values[i] = Float(sum / Double(plane))
        }
        guard
          let d = try network.backward(dA, inputGradient: true, parameterGradients: false)
        else {
          preconditionFailure("input gradient asked for")
        }
        return (values, d)
      }
    } catch {
      throw .engine(error)
    }
  }

  /// The objective's value for each sample of `input` (N, C, H, W) and
  /// each unit: (N, units) row-major, with dropout off.
  public mutating func objectiveValues(
    _ objective: MaximizationObjective, input: Tensor
  ) throws(ExplainError) -> Tensor {
    switch objective {
    case .classScore:
      return try scores(input)
    case .channel(let layer):
      let a: Tensor
      do {
        a = try network.activation(of: layer, for: input)
      } catch {
        throw .engine(error)
      }
      let (n, k, plane) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
      var out = Tensor(zeros: Shape(n, k))
      for i in 0..<(n * k) {
        var sum: Double = 0
        for p in 0..<plane { sum += Double(a.storage[i * plane + p]) }
        out.storage[i] = Float(sum / Double(plane))
      }
      return out
    }
  }
}
