import ImageCodecs
import Tensors
import XCTest

@testable import ImageFilters

/// `apply` and `pool` writing their output into arrays kept from earlier
/// images: the same output as into new memory, whatever the kept array held.
final class SampleBuffersFilterTests: XCTestCase {
  func testOutputsIntoKeptArraysMatchFreshOutputs() throws {
    var rng = SeededGenerator(seed: 99)
    let buffers = SampleBuffers(capacity: 2)
    var reuses = 0
    for round in 0..<40 {
      let sixteen = round % 4 == 0
      let image = RandomInputs.image(
        width: Int.random(in: 1...30, using: &rng), height: Int.random(in: 1...20, using: &rng),
        layout: Image.Layout.allCases.randomElement(using: &rng)!, sixteen: sixteen, using: &rng)
      let operation = FilterOperation.kernel(Kernel([[1, 2, 1], [0, -3, 0], [1, 1, 1]]))
      let filterOptions = FilterOptions(padding: .same, border: .reflect)
      let poolOptions = RandomInputs.poolOptions(using: &rng)
      let filtered = try apply(operation, to: image, options: filterOptions)
      // A kept array of the output's size, full of another image's samples.
      let garbage = RandomInputs.image(
        width: filtered.width, height: filtered.height, layout: filtered.layout,
        sixteen: sixteen, using: &rng)
      buffers.recycle(garbage)
      XCTAssertEqual(
        try apply(operation, to: image, options: filterOptions, buffers: buffers), filtered)
      guard let pooled = try? pool(image, mode: .max, options: poolOptions) else { continue }
      buffers.recycle(
        RandomInputs.image(
          width: pooled.width, height: pooled.height, layout: pooled.layout, sixteen: sixteen,
          using: &rng))
      for mode in PoolMode.allCases {
        let expected = try pool(image, mode: mode, options: poolOptions)
        let reused = try pool(image, mode: mode, options: poolOptions, buffers: buffers)
        XCTAssertEqual(reused, expected, "\(mode) \(poolOptions)")
        buffers.recycle(reused)
      }
      reuses = buffers.reuses
    }
    XCTAssertGreaterThan(reuses, 100)
  }
}
