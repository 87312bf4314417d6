import Engine
import Tensors
import XCTest

@testable import Explain

final class TopPatchesTests: XCTestCase {
  /// A network whose unit 0 is the pixel under the centre of a 3×3 window
  /// and unit 1 its negative: on images that are black but for one dot,
  /// unit 0's best patch is the brightest dot, centred in its crop.
  func testTheBrightestDotIsUnitZerosTopPatch() throws {
    var kernel = Tensor(zeros: Shape(3, 3, 1, 2))
    kernel.storage[(1 * 3 + 1) * 2 + 0] = 1
    kernel.storage[(1 * 3 + 1) * 2 + 1] = -1
    let network = Network(
      inputShape: Shape(1, 9, 9),
      layers: [
        Conv2D(kernel: kernel, bias: Tensor(zeros: Shape(2)), padding: .same), Activation(.relu),
      ])
    let field = try ReceptiveField.of("1", in: network.graph)
    var collector = TopPatches(k: 2, units: 2, field: field)
    let dots: [(y: Int, x: Int, value: Float)] = [
      (4, 4, 0.3), (0, 0, 0.9), (7, 2, 0.6), (8, 8, 0.2), (3, 5, 0.9),
    ]
    var probe = network
    for batch in [dots[0..<2], dots[2..<5]] {
      var images = Tensor(zeros: Shape(batch.count, 1, 9, 9))
      for (n, dot) in batch.enumerated() { images.storage[n * 81 + dot.y * 9 + dot.x] = dot.value }
      collector.add(images: images, activation: try probe.activation(of: "1", for: images))
    }
    let patches = collector.patches()
    // Two dots of 0.9: the earlier sample ranks first.
    XCTAssertEqual(patches[0].map(\.sample), [1, 4])
    XCTAssertEqual(patches[0].map(\.value), [0.9, 0.9])
    XCTAssertEqual(patches[0][1].y, 3)
    XCTAssertEqual(patches[0][1].x, 5)
    let crop = patches[0][1].crop
    XCTAssertEqual(crop.shape, Shape(1, 3, 3))
    XCTAssertEqual(crop.storage, [0, 0, 0, 0, 0.9, 0, 0, 0, 0])
    // At the corner the field reaches outside the image, which reads as 0.
    XCTAssertEqual(patches[0][0].crop.storage, [0, 0, 0, 0, 0.9, 0, 0, 0, 0])
    // Unit 1 never fires: every value is 0 and the first samples are kept.
    XCTAssertEqual(patches[1].map(\.sample), [0, 1])
  }

  /// The heaps keep what sorting everything would: the k best values per
  /// unit, ties to the earlier sample, whatever the batches.
  func testHeapsKeepWhatSortingKeeps() {
    var g = SeededGenerator(seed: 3)
    let (n, units, k) = (40, 5, 7)
    // Few distinct values, so that ties happen.
    let activation = Tensor(
      shape: Shape(n, units, 2, 2), storage: (0..<(n * units * 4)).map { _ in Float(g.next() % 9) })
    let images = Tensor(zeros: Shape(n, 1, 4, 4))
    let field = ReceptiveField(
      vertical: .init(size: 2, jump: 2, start: 0), horizontal: .init(size: 2, jump: 2, start: 0))
    var collector = TopPatches(k: k, units: units, field: field)
    for start in stride(from: 0, to: n, by: 6) {
      let range = start..<min(start + 6, n)
      collector.add(images: images.samples(range), activation: activation.samples(range))
    }
    let patches = collector.patches()
    for unit in 0..<units {
      var best = [Float](repeating: 0, count: n)
      for s in 0..<n {
        let base = (s * units + unit) * 4
        best[s] = activation.storage[base..<(base + 4)].max() ?? 0
      }
      let expected = (0..<n).sorted { (a: Int, b: Int) -> Bool in
        best[a] != best[b] ? best[a] > best[b] : a < b
      }
      XCTAssertEqual(patches[unit].map(\.sample), Array(expected.prefix(k)), "unit \(unit)")
    }
  }
}
