import Engine
import Tensors
import XCTest

/// Central-difference gradient checks for layers and networks (convnetjs style).
///
/// The scalar checked is L = Σ forward(x) · R for a fixed random R, summed in
/// Double; its analytic gradient is backward(R). Networks with a generator
/// (dropout) are rewound before every forward so the masks stay fixed.
enum GradientCheck {
  static func randomTensor(
    _ shape: Shape, _ generator: inout SeededGenerator, scale: Float = 1
  ) -> Tensor {
    var t = Tensor(zeros: shape)
    for i in 0..<t.count { t.storage[i] = generator.nextFloat(in: -scale, scale) }
    return t
  }

  static func objective(
    _ network: inout Network, _ input: Tensor, _ projection: Tensor, state: [[UInt64]?]
  ) throws -> Double {
    network.generatorStates = state
    let output = try network.forward(input, mode: .training)
    var sum = 0.0
    for i in 0..<output.count { sum += Double(output.storage[i]) * Double(projection.storage[i]) }
    return sum
  }

  static func relativeError(_ a: Double, _ b: Double) -> Double {
    abs(a - b) / max(abs(a) + abs(b), 1e-2)
  }

  /// Checks one layer, run as a one-node network.
  static func check<L: Layer>(
    _ layer: L, input: Tensor, epsilon: Float = 1e-2, samples: Int = 40,
    tolerance: Double = 1e-2, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    try check(
      Network(inputShape: input.sampleShape, layers: [layer]), input: input, epsilon: epsilon,
      samples: samples, tolerance: tolerance, file: file, line: line)
  }

  /// Checks dInput and every parameter gradient at up to `samples` elements each.
  static func check(
    _ network: Network, input: Tensor, epsilon: Float = 1e-2, samples: Int = 40,
    tolerance: Double = 1e-2, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    var generator = SeededGenerator(seed: 99)
    var network = network
    let kinds = network.layers.map(\.kind).joined(separator: "+")
    let state = network.generatorStates
    let output = try network.forward(input, mode: .training)
    let projection = randomTensor(output.shape, &generator)
    network.zeroGradients()
    guard let dInput = try network.backward(projection, inputGradient: true) else {
      return XCTFail("no input gradient", file: file, line: line)
    }
    var analytic: [Tensor] = []
    network.forEachParameter { analytic.append($0.grad) }

    func pick(_ count: Int) -> [Int] {
      count <= samples
        ? Array(0..<count) : (0..<samples).map { _ in Int(generator.next() % UInt64(count)) }
    }

    for i in pick(input.count) {
      var plus = input, minus = input
      plus.storage[i] += epsilon
      minus.storage[i] -= epsilon
      var probe = network
      let numeric =
        try
        (objective(&probe, plus, projection, state: state)
        - objective(&probe, minus, projection, state: state)) / (2 * Double(epsilon))
      let error = relativeError(Double(dInput.storage[i]), numeric)
      XCTAssertLessThan(
        error, tolerance,
        "\(kinds) dInput[\(i)]: analytic \(dInput.storage[i]) numeric \(numeric)", file: file,
        line: line)
    }

    for p in analytic.indices {
      for i in pick(analytic[p].count) {
        func perturbed(_ delta: Float) throws -> Double {
          var probe = network
          var index = 0
          probe.forEachParameter { parameter in
            if index == p { parameter.value.storage[i] += delta }
            index += 1
          }
          return try objective(&probe, input, projection, state: state)
        }
        let numeric = (try perturbed(epsilon) - perturbed(-epsilon)) / (2 * Double(epsilon))
        let error = relativeError(Double(analytic[p].storage[i]), numeric)
        XCTAssertLessThan(
          error, tolerance,
          "\(kinds) parameter \(p)[\(i)]: analytic \(analytic[p].storage[i]) numeric \(numeric)",
          file: file, line: line)
      }
    }
  }
}
