import Datasets
import Engine
import Foundation
import Tensors
import XCTest

@testable import Explain

/// Activation maximization: the transforms and parameterizations it sees
/// through, and the properties of its results.
final class MaximizationTests: XCTestCase {
  static func random(_ count: Int, _ g: inout SeededGenerator) -> [Float] {
    (0..<count).map { _ in g.nextFloat(in: -1, 1) }
  }

  static func dot(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
  }

  func testFFTMatchesTheDirectSumForEveryLength() {
    var g = SeededGenerator(seed: 1)
    for n in [1, 2, 3, 4, 5, 6, 7, 8, 12, 14, 28, 30, 32] {
      let x = (0..<n).map { _ in Complex(g.nextFloat(in: -1, 1), g.nextFloat(in: -1, 1)) }
      for sign in [-1.0, 1.0] {
        let fast = FFT(length: n, sign: sign)(x)
        let slow = FFT.dft(x, sign: sign)
        for (a, b) in zip(fast, slow) {
          XCTAssertEqual(a.re, b.re, accuracy: 1e-4, "n \(n)")
          XCTAssertEqual(a.im, b.im, accuracy: 1e-4, "n \(n)")
        }
      }
    }
  }

  /// rfft2 is the 2-D direct sum's first W/2 + 1 columns; irfft2 undoes it.
  func testRealFFT2DMatchesTheDirectSumAndRoundTrips() {
    var g = SeededGenerator(seed: 2)
    for (h, w) in [(4, 6), (5, 7), (28, 28), (6, 1)] {
      let image = Self.random(h * w, &g)
      let fft = RealFFT2D(height: h, width: w)
      let half = fft.forward(image)
      var full = image.map { Complex($0, 0) }
      for y in 0..<h {
        let row = FFT.dft(Array(full[(y * w)..<((y + 1) * w)]), sign: -1)
        full.replaceSubrange((y * w)..<((y + 1) * w), with: row)
      }
      for x in 0..<w {
        let column = FFT.dft((0..<h).map { full[$0 * w + x] }, sign: -1)
        for y in 0..<h { full[y * w + x] = column[y] }
      }
      let wf = w / 2 + 1
      for y in 0..<h {
        for x in 0..<wf {
          XCTAssertEqual(half[y * wf + x].re, full[y * w + x].re, accuracy: 1e-3)
          XCTAssertEqual(half[y * wf + x].im, full[y * w + x].im, accuracy: 1e-3)
        }
      }
      let back = fft.inverse(half)
      for (a, b) in zip(back, image) { XCTAssertEqual(a, b, accuracy: 1e-5, "\(h)×\(w)") }
    }
  }

  /// ⟨irfft2(X), g⟩ = ⟨X, adjoint(g)⟩ over real and imaginary parts, for
  /// spectra that are not Hermitian too: the gradient is exact.
  func testInverseAdjointIsTheTranspose() {
    var g = SeededGenerator(seed: 3)
    for (h, w) in [(4, 6), (5, 7), (3, 4)] {
      let fft = RealFFT2D(height: h, width: w)
      let spectrum = (0..<(h * (w / 2 + 1))).map { _ in
        Complex(g.nextFloat(in: -1, 1), g.nextFloat(in: -1, 1))
      }
      let gradient = Self.random(h * w, &g)
      let left = Self.dot(fft.inverse(spectrum), gradient)
      let adjoint = fft.inverseAdjoint(gradient)
      let right = zip(spectrum, adjoint).reduce(0.0) {
        $0 + Double($1.0.re * $1.1.re + $1.0.im * $1.1.im)
      }
      XCTAssertEqual(left, right, accuracy: 1e-4)
    }
  }

  func testFourierParameterizationRoundTripsAndItsGradientIsTheAdjoint() {
    var g = SeededGenerator(seed: 4)
    let fourier = FourierImage(channels: 3, height: 10, width: 9)
    let image = Self.random(3 * 10 * 9, &g)
    let back = fourier.image(fourier.parameters(of: image))
    for (a, b) in zip(back, image) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    let parameters = Self.random(fourier.parameterCount, &g)
    let gradient = Self.random(3 * 10 * 9, &g)
    XCTAssertEqual(
      Self.dot(fourier.image(parameters), gradient),
      Self.dot(parameters, fourier.parameterGradient(gradient)), accuracy: 1e-2)
  }

  /// The gradient goes back through the model's preprocessing (ImageNet's
  /// mean and std, Caffe's BGR and 0…255) by the transpose of its linear
  /// part: ⟨L x, g⟩ = ⟨x, Lᵀ g⟩, L x = normalize(x) − normalize(0).
  func testNormalizationTransposeIsTheAdjoint() {
    var g = SeededGenerator(seed: 11)
    for preprocessing in [
      Preprocessing.imagenet,
      Preprocessing(scale: .byte, mean: [104, 117, 123], channelOrder: .bgr),
    ] {
      let x = (0..<24).map { _ in g.nextUnitFloat() }
      let gradient = Self.random(24, &g)
      var lx = x
      PixelConversion.normalize(&lx, channels: 3, pixels: 4, preprocessing)
      var zero = [Float](repeating: 0, count: 24)
      PixelConversion.normalize(&zero, channels: 3, pixels: 4, preprocessing)
      lx = zip(lx, zero).map { $0 - $1 }
      var back = gradient
      Explainer.normalizationTranspose(&back, channels: 3, pixels: 4, preprocessing)
      XCTAssertEqual(Self.dot(lx, gradient), Self.dot(x, back), accuracy: 1e-2)
    }
  }

  func testWarpTransposeIsTheAdjointAndWholeShiftsMovePixels() {
    var g = SeededGenerator(seed: 5)
    let warp = Bilinear.Warp(height: 9, width: 11, scale: 1.07, rotation: 8, shiftX: 1, shiftY: -2)
    let x = Self.random(2 * 99, &g)
    let y = Self.random(2 * 99, &g)
    XCTAssertEqual(
      Self.dot(warp.apply(x[...], channels: 2), y),
      Self.dot(x, warp.applyTransposed(y[...], channels: 2)), accuracy: 1e-4)
    let shift = Bilinear.Warp(height: 9, width: 11, shiftX: 2, shiftY: 1)
    let moved = shift.apply(x[...], channels: 2)
    for c in 0..<2 {
      for row in 0..<9 {
        for column in 0..<11 {
          // Uncovered pixels repeat the nearest edge.
          let expected = x[c * 99 + max(row - 1, 0) * 11 + max(column - 2, 0)]
          XCTAssertEqual(moved[c * 99 + row * 11 + column], expected)
        }
      }
    }
  }

  /// Two convolutions; the objective is at the second's output, before
  /// any ReLU, so no unit starts dead.
  static func twoConvolutions(seed: UInt64) -> Network {
    var g = SeededGenerator(seed: seed)
    return Network(
      inputShape: Shape(1, 12, 12),
      layers: [
        Conv2D(inputChannels: 1, filters: 4, kernelSize: (3, 3), generator: &g),
        Activation(.relu),
        Conv2D(inputChannels: 4, filters: 6, kernelSize: (3, 3), generator: &g),
        Activation(.relu),
        Flatten(),
        Dense(inputFeatures: 6 * 8 * 8, units: 3, generator: &g),
        Activation(.softmax),
      ])
  }

  func settings(_ parameterization: MaximizationSettings.Parameterization) -> MaximizationSettings {
    var settings = MaximizationSettings()
    settings.steps = 48
    settings.parameterization = parameterization
    settings.totalVariation = 0.05
    settings.l2 = 0.01
    return settings
  }

  func testOptimisedInputsExciteTheirUnitMoreThanNoiseAndOtherUnitsImages() throws {
    for parameterization in MaximizationSettings.Parameterization.allCases {
      var explainer = Explainer(network: Self.twoConvolutions(seed: 6))
      let units = Array(0..<6)
      let results = try explainer.maximize(
        .channel(layer: "2"), units: units, shape: Shape(1, 12, 12),
        settings: settings(parameterization))
      XCTAssertEqual(results.map(\.unit), units)
      // Rises monotonically on average: each quarter's mean above the last.
      for result in results {
        let quarters = (0..<4).map { q in
          result.history[(q * 12)..<((q + 1) * 12)].reduce(0, +) / 12
        }
        for q in 1..<4 {
          XCTAssertGreaterThan(
            quarters[q], quarters[q - 1], "\(parameterization) unit \(result.unit)")
        }
      }
      let optimised = Tensor.concatenatingSamples(
        results.map { Tensor(shape: Shape(1, 1, 12, 12), storage: $0.image.storage) })
      XCTAssertTrue(optimised.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
      let values = try explainer.objectiveValues(.channel(layer: "2"), input: optimised)
      var g = SeededGenerator(seed: 7)
      let noise = Tensor(
        shape: Shape(16, 1, 12, 12), storage: (0..<(16 * 144)).map { _ in g.nextUnitFloat() })
      let noiseValues = try explainer.objectiveValues(.channel(layer: "2"), input: noise)
      for u in units {
        let own = values.storage[u * 6 + u]
        let bestNoise = (0..<16).map { noiseValues.storage[$0 * 6 + u] }.max() ?? 0
        XCTAssertGreaterThan(own, bestNoise, "\(parameterization) unit \(u) vs noise")
        for v in units where v != u {
          XCTAssertGreaterThan(own, values.storage[v * 6 + u], "unit \(u): image of \(v)")
        }
      }
    }
  }

  func testTheSameSeedGivesTheSameBytesAndAUnitDoesNotDependOnItsBatch() throws {
    var explainer = Explainer(network: Self.twoConvolutions(seed: 8))
    var settings = settings(.fft)
    settings.steps = 10
    settings.blur = 0.5
    let first = try explainer.maximize(
      .channel(layer: "2"), units: [1, 3], shape: Shape(1, 12, 12), settings: settings)
    let again = try explainer.maximize(
      .channel(layer: "2"), units: [1, 3], shape: Shape(1, 12, 12), settings: settings)
    XCTAssertEqual(first.map(\.image.storage), again.map(\.image.storage))
    settings.seed = 1
    let other = try explainer.maximize(
      .channel(layer: "2"), units: [1, 3], shape: Shape(1, 12, 12), settings: settings)
    XCTAssertNotEqual(first[0].image.storage, other[0].image.storage)
    settings.seed = 0
    let alone = try explainer.maximize(
      .channel(layer: "2"), units: [3], shape: Shape(1, 12, 12), settings: settings)
    XCTAssertEqual(alone[0].image.storage, first[1].image.storage)
    settings.seed = 0
    settings.parameterization = .pixel
    let pixelA = try explainer.maximize(
      .channel(layer: "2"), units: [3], shape: Shape(1, 12, 12), settings: settings)
    let pixelB = try explainer.maximize(
      .channel(layer: "2"), units: [3], shape: Shape(1, 12, 12), settings: settings)
    XCTAssertEqual(pixelA[0].image.storage, pixelB[0].image.storage)
  }

  /// Units behind a ReLU that are off everywhere on grey (a bias of −1)
  /// still wake up: the objective is measured before the ReLU.
  func testUnitsOffOnGreyStillRiseThroughTheirReLU() throws {
    var network = Self.twoConvolutions(seed: 10)
    // Checkerboard kernels of ±1 and a bias of −1: −0.5 (filters 0 and 2,
    // whose weights sum to +1) or −1.5 on grey, up to 4 or 3 on the right
    // pattern. Filters 1 and 3 cannot have a positive mean (their best
    // mean is −1, on black), so the test asks only 0 and 2 to wake up.
    network.forEachParameter { parameter in
      guard parameter.value.count == 36 || parameter.value.count == 4 else { return }
      parameter.value.storage =
        parameter.value.count == 4
        ? [-1, -1, -1, -1] : (0..<36).map { i in (i / 4 + i % 4) % 2 == 0 ? 1 : -1 }
    }
    var explainer = Explainer(network: network)
    XCTAssertEqual(explainer.objectiveLayer("1"), "0")
    XCTAssertEqual(explainer.objectiveLayer("2"), "2")
    let grey = Tensor(shape: Shape(1, 1, 12, 12), storage: Array(repeating: 0.5, count: 144))
    XCTAssertEqual(
      try explainer.objectiveValues(.channel(layer: "1"), input: grey).storage, [0, 0, 0, 0])
    var settings = settings(.fft)
    settings.steps = 64
    let results = try explainer.maximize(
      .channel(layer: "1"), units: [0, 1, 2, 3], shape: Shape(1, 12, 12), settings: settings)
    let images = Tensor.concatenatingSamples(
      results.map { Tensor(shape: Shape(1, 1, 12, 12), storage: $0.image.storage) })
    let values = try explainer.objectiveValues(.channel(layer: "1"), input: images)
    for u in [0, 2] { XCTAssertGreaterThan(values.storage[u * 4 + u], 0, "unit \(u)") }
  }

  func testClassScoresRiseAndBadUnitsAreRefused() throws {
    var explainer = Explainer(network: Self.twoConvolutions(seed: 9))
    let results = try explainer.maximize(
      .classScore, units: [0, 2], shape: Shape(1, 12, 12), settings: settings(.pixel))
    for result in results {
      XCTAssertGreaterThan(
        result.history.suffix(8).reduce(0, +), result.history.prefix(8).reduce(0, +))
    }
    XCTAssertThrowsError(
      try explainer.maximize(
        .classScore, units: [3], shape: Shape(1, 12, 12), settings: settings(.pixel))
    ) { XCTAssertEqual($0 as? ExplainError, .classOutOfRange(3, classCount: 3)) }
    XCTAssertThrowsError(
      try explainer.maximize(
        .channel(layer: "2"), units: [6], shape: Shape(1, 12, 12), settings: settings(.pixel))
    ) { XCTAssertEqual($0 as? ExplainError, .unitOutOfRange(6, unitCount: 6, layer: "2")) }
    XCTAssertThrowsError(
      try explainer.maximize(
        .channel(layer: "5"), units: [0], shape: Shape(1, 12, 12), settings: settings(.pixel))
    ) {
      guard case .notSpatial = $0 as? ExplainError else { return XCTFail("\($0)") }
    }
  }
}
