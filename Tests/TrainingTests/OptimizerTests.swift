import Foundation
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats
@testable import Training

/// Two parameters stepped on the quadratic of Fixtures/optimizers/generate.py.
private struct Quadratic {
  static let a: [[Float]] = [[1, 2, 0.5, 3, 0.1], [1, 1]]
  static let c: [[Float]] = [[1, -2, 0.5, 0, 3], [0.3, -0.7]]
  var parameters = [
    Parameter(name: "w", value: Tensor(shape: Shape(5), storage: [0, 0, 1, -1, 2])),
    Parameter(name: "b", value: Tensor(shape: Shape(2), storage: [1, 1])),
  ]

  mutating func step(_ optimizer: inout some Optimizer, weightDecay: Float = 0) {
    for p in parameters.indices {
      let w = parameters[p].value.storage
      parameters[p].grad.storage = w.indices.map { Self.a[p][$0] * (w[$0] - Self.c[p][$0]) }
    }
    optimizer.step(weightDecay: weightDecay) { body in
      for p in parameters.indices { body(&parameters[p]) }
    }
  }

  var values: [Float] { parameters.flatMap(\.value.storage) }
}

final class OptimizerTests: XCTestCase {
  /// Keras trajectories: config name → values after steps 1, 2, ….
  private func kerasTrajectories() throws -> [String: [[Float]]] {
    let url = try XCTUnwrap(
      Bundle.module.url(
        forResource: "optimizer_trajectories", withExtension: "txt",
        subdirectory: "Fixtures/optimizers"))
    var result: [String: [[Float]]] = [:]
    for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
    where !line.hasPrefix("#") {
      let fields = line.split(separator: " ")
      result[String(fields[0]), default: []].append(fields.dropFirst(2).map { Float($0)! })
    }
    return result
  }

  private func assertMatchesKeras(
    _ name: String, tolerance: Float = 2e-6, weightDecay: Float = 0,
    _ make: () -> some Optimizer,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let expected = try XCTUnwrap(try kerasTrajectories()[name], "no fixture \(name)")
    XCTAssertEqual(expected.count, 5)
    var optimizer = make()
    var model = Quadratic()
    for (step, values) in expected.enumerated() {
      model.step(&optimizer, weightDecay: weightDecay)
      for (got, want) in zip(model.values, values) {
        XCTAssertEqual(
          got, want, accuracy: tolerance * max(1, abs(want)),
          "\(name) step \(step + 1): \(model.values) vs Keras \(values)", file: file, line: line)
      }
    }
    XCTAssertEqual(optimizer.iterations, 5)
  }

  func testSGDMatchesKeras() throws {
    try assertMatchesKeras("sgd") { SGD() }
    try assertMatchesKeras("sgd-momentum") { SGD(learningRate: 0.1, momentum: 0.9) }
    try assertMatchesKeras("sgd-nesterov") { SGD(learningRate: 0.1, momentum: 0.9, nesterov: true) }
  }

  func testAdadeltaMatchesKeras() throws {
    try assertMatchesKeras("adadelta") { Adadelta() }
  }

  func testAdamMatchesKeras() throws {
    try assertMatchesKeras("adam") { Adam() }
    // β₂ᵗ is computed with float32 pow, whose last bits differ between glibc
    // and XLA; 1 − β₂ᵗ cancels most digits, leaving ~1e-5 relative noise.
    try assertMatchesKeras("adam-fast", tolerance: 2e-5) { Adam(learningRate: 0.1) }
  }

  func testRMSpropMatchesKeras() throws {
    try assertMatchesKeras("rmsprop") { RMSprop() }
    try assertMatchesKeras("rmsprop-momentum") { RMSprop(learningRate: 0.01, momentum: 0.5) }
  }

  /// Keras 3's `weight_decay`: each weight shrinks by w·wd·lr before the
  /// optimizer's own update (AdamW, and the same on every optimizer).
  func testWeightDecayMatchesKeras() throws {
    try assertMatchesKeras("adamw", weightDecay: 0.5) { Adam(learningRate: 0.01) }
    try assertMatchesKeras("sgd-momentum-wd", weightDecay: 0.2) {
      SGD(learningRate: 0.1, momentum: 0.9)
    }
    try assertMatchesKeras("adadelta-wd", weightDecay: 0.05) { Adadelta() }
  }

  /// One SGD step with weight decay worked by hand: w − (w·wd)·lr − lr·g.
  func testWeightDecayByHand() {
    var optimizer = SGD(learningRate: 0.5)
    var parameter = Parameter(name: "w", value: Tensor(shape: Shape(2), storage: [2, -4]))
    parameter.grad.storage = [1, 1]
    optimizer.step(weightDecay: 0.1) { body in body(&parameter) }
    XCTAssertEqual(parameter.value.storage, [2 - 0.1 - 0.5, -4 + 0.2 - 0.5])
    var plain = Parameter(name: "w", value: Tensor(shape: Shape(2), storage: [2, -4]))
    plain.grad.storage = [1, 1]
    optimizer.step(weightDecay: 0) { body in body(&plain) }
    XCTAssertEqual(plain.value.storage, [1.5, -4.5], "0 is no decay")
  }

  /// The first Adadelta step worked by hand: with a = d = 0,
  /// a₁ = 0.05 g², Δ = −sqrt(ε) g / sqrt(0.05 g² + ε) ≈ −sqrt(ε / 0.05) sign(g).
  func testAdadeltaFirstStepByHand() {
    var optimizer = Adadelta()
    var parameter = Parameter(name: "w", value: Tensor(shape: Shape(1), storage: [0.5]))
    parameter.grad.storage = [2]
    optimizer.step { body in body(&parameter) }
    let a: Double = 0.05 * 4
    let delta = -(1e-7 as Double).squareRoot() * 2 / (a + 1e-7).squareRoot()
    XCTAssertEqual(Double(parameter.value.storage[0]), 0.5 + delta, accuracy: 1e-7)
  }

  func testDefaultsFollowKeras() {
    XCTAssertEqual(
      OptimizerConfiguration.defaults(for: .adadelta),
      .adadelta(learningRate: 1.0, rho: 0.95, epsilon: 1e-7))
    XCTAssertEqual(
      OptimizerConfiguration.defaults(for: .adam),
      .adam(learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
    XCTAssertEqual(
      OptimizerConfiguration.defaults(for: .rmsprop),
      .rmsprop(learningRate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7))
    XCTAssertEqual(
      OptimizerConfiguration.defaults(for: .sgd),
      .sgd(learningRate: 0.01, momentum: 0, nesterov: false))
    for kind in OptimizerKind.allCases {
      let config = OptimizerConfiguration.defaults(for: kind)
      XCTAssertEqual(config.makeOptimizer().configuration, config)
      XCTAssertEqual(config.withLearningRate(0.5).learningRate, 0.5)
      XCTAssertEqual(config.withLearningRate(0.5).kind, kind)
    }
  }

  /// Stopping after two steps, saving the state, and continuing in a fresh
  /// optimizer gives the same values as never stopping.
  func testStateRestoreContinuesIdentically() throws {
    let configs: [OptimizerConfiguration] = [
      .sgd(learningRate: 0.1, momentum: 0.9, nesterov: true),
      .defaults(for: .adadelta), .adam(learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7),
      .rmsprop(learningRate: 0.01, rho: 0.9, momentum: 0.5, epsilon: 1e-7), .defaults(for: .sgd),
    ]
    for config in configs {
      var straight = config.makeOptimizer()
      var reference = Quadratic()
      for _ in 0..<4 { reference.step(&straight) }

      var first = config.makeOptimizer()
      var model = Quadratic()
      for _ in 0..<2 { model.step(&first) }
      var second = config.makeOptimizer()
      try second.restore(first.state)
      XCTAssertEqual(second.state, first.state)
      for _ in 0..<2 { model.step(&second) }
      XCTAssertEqual(model.values, reference.values, "\(config)")
      XCTAssertEqual(second.iterations, 4)
    }
  }

  func testRestoreRejectsAnotherOptimizersState() {
    var adam = Adam()
    var model = Quadratic()
    model.step(&adam)
    var adadelta = Adadelta()
    XCTAssertThrowsError(try adadelta.restore(adam.state)) { error in
      XCTAssertEqual(
        error as? OptimizerStateError,
        .slotMismatch(
          optimizer: .adadelta, expected: ["accumulated_grad", "accumulated_delta_var"],
          found: ["momentum", "velocity"]))
    }
  }
}
