import Engine
import Foundation
import Tensors
import XCTest

/// libopenblas is opened when a network first runs, not linked (see
/// cvz_openblas.h); ConvvizCLITests' LazyLibraryTests checks that image
/// commands never load it. Here: running a network does, and the library
/// shows in this process's memory map, as that test reads it.
final class OpenBLASLoadingTests: XCTestCase {
  func testRunningANetworkLoadsOpenBLAS() throws {
    var generator = SeededGenerator(seed: 3)
    let dense = Dense(inputFeatures: 64, units: 32, generator: &generator)
    var network = Network(inputShape: Shape(64), layers: [dense])
    let input = Tensor(
      shape: Shape(8, 64), storage: (0..<(8 * 64)).map { _ in generator.nextUnitFloat() })
    let output = try network.forward(input, mode: .inference)
    XCTAssertEqual(output.shape, Shape(8, 32))
    XCTAssertNoThrow(try EngineError.requireOpenBLAS())
    // Read to the end: /proc files come a page per read.
    let maps = String(
      decoding: try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/maps"))
        .readDataToEndOfFile(), as: UTF8.self)
    XCTAssertTrue(maps.contains("libopenblas"), "libopenblas is not mapped")
  }
}
