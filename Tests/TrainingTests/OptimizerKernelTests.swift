import Foundation
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats
@testable import Training

/// The C update loops against the Swift reference: bit-identical values and
/// slots after several steps on random data, for a tensor updated in one
/// pass and one large enough to be cut into chunks for the thread pool.
final class OptimizerKernelTests: XCTestCase {
  private static let counts = [1037, 70_001]

  private func run(
    _ optimizer: some Optimizer, count: Int, steps: Int,
    reference: (inout [Float], [Float], Int) -> Void
  ) -> (fast: [Float], reference: [Float], state: OptimizerState) {
    var generator = SeededGenerator(seed: 5)
    var optimizer = optimizer
    let initial = (0..<count).map { _ in Float(generator.next() % 2001) / 1000 - 1 }
    var parameter = Parameter(name: "w", value: Tensor(shape: Shape(count), storage: initial))
    var expected = initial
    for step in 0..<steps {
      let grads = (0..<count).map { _ in (Float(generator.next() % 2001) / 1000 - 1) * 3 }
      parameter.grad.storage = grads
      optimizer.step { body in body(&parameter) }
      reference(&expected, grads, step)
    }
    return (parameter.value.storage, expected, optimizer.state)
  }

  func testSGDKernelsMatchReference() {
    for count in Self.counts {
      for (mu, nesterov) in [(Float(0), false), (0.9, false), (0.9, true)] {
        var m: [Float]? = mu == 0 ? nil : [Float](repeating: 0, count: count)
        let sgd = SGD(learningRate: 0.05, momentum: mu, nesterov: nesterov)
        let result = run(sgd, count: count, steps: 4) { w, g, _ in
          OptimizerReference.sgd(w: &w, g: g, m: &m, lr: 0.05, momentum: mu, nesterov: nesterov)
        }
        XCTAssertEqual(
          result.fast, result.reference, "momentum \(mu) nesterov \(nesterov) count \(count)")
        XCTAssertEqual(result.state.slots.first?.tensors.first?.storage, m)
      }
    }
  }

  func testAdadeltaKernelMatchesReference() {
    for count in Self.counts {
      var a = [Float](repeating: 0, count: count)
      var d = a
      let result = run(Adadelta(), count: count, steps: 4) { w, g, _ in
        OptimizerReference.adadelta(w: &w, g: g, a: &a, d: &d, lr: 1, rho: 0.95, eps: 1e-7)
      }
      XCTAssertEqual(result.fast, result.reference, "count \(count)")
      XCTAssertEqual(result.state.slots.map { $0.tensors[0].storage }, [a, d])
    }
  }

  func testAdamKernelMatchesReference() {
    for count in Self.counts {
      var m = [Float](repeating: 0, count: count)
      var v = m
      let result = run(Adam(learningRate: 0.01), count: count, steps: 4) { w, g, step in
        let t = Float(step + 1)
        // The same scalar arithmetic as Adam.step: only the loop is under test.
        let alpha: Float = 0.01 * sqrtf(1 - powf(0.999, t)) / (1 - powf(0.9, t))
        OptimizerReference.adam(
          w: &w, g: g, m: &m, v: &v, alpha: alpha, beta1: 0.9, beta2: 0.999, eps: 1e-7)
      }
      XCTAssertEqual(result.fast, result.reference, "count \(count)")
      XCTAssertEqual(result.state.slots.map { $0.tensors[0].storage }, [m, v])
    }
  }

  func testRMSpropKernelsMatchReference() {
    for count in Self.counts {
      for mu: Float in [0, 0.5] {
        var v = [Float](repeating: 0, count: count)
        var m: [Float]? = mu == 0 ? nil : v
        let rmsprop = RMSprop(learningRate: 0.01, momentum: mu)
        let result = run(rmsprop, count: count, steps: 4) { w, g, _ in
          OptimizerReference.rmsprop(
            w: &w, g: g, v: &v, m: &m, lr: 0.01, rho: 0.9, momentum: mu, eps: 1e-7)
        }
        XCTAssertEqual(result.fast, result.reference, "momentum \(mu)")
        XCTAssertEqual(result.state.slots.count, mu == 0 ? 1 : 2)
      }
    }
  }
}
