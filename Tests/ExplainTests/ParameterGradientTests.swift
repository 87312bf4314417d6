import Tensors
import XCTest

@testable import Engine
@testable import Explain

/// Explanations need input and activation gradients alone: their backward
/// passes never make the network's parameter gradients.
final class ParameterGradientTests: XCTestCase {
  func testGradientMethodsMakeNoParameterGradients() throws {
    var g = SeededGenerator(seed: 1)
    let input = ExplainerTests.random(Shape(1, 3, 12, 12), &g)
    let methods: [AttributionMethod] = [
      .gradCAM(layer: "1"), .layerCAM(layer: "1"), .saliency,
      .smoothGrad(samples: 3, noise: 0.1, seed: 2),
      .integratedGradients(steps: 4, baseline: Tensor(zeros: input.shape)),
      .guidedBackprop,
    ]
    for method in methods {
      var explainer = Explainer(network: ExplainerTests.deeper(seed: 3, channels: 3))
      _ = try explainer.explain(input, classIndex: 1, method: method)
      var made: [String] = []
      explainer.network.forEachParameter { if $0.accumulated != nil { made.append($0.name) } }
      XCTAssertEqual(made, [], "\(method)")
    }
  }
}
