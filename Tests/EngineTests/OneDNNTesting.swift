import Tensors
import XCTest

@testable import Engine

/// What the oneDNN inference tests share.
enum OneDNNTesting {
  /// Skips the calling test unless oneDNN's CPU engine exists and its
  /// kernels are ones inference uses.
  static func skipUnlessUsable() throws {
    guard OneDNN.isAvailable else {
      throw XCTSkip("oneDNN's CPU engine could not be created; the oneDNN path is not tested")
    }
    guard OneDNN.isUsable else {
      throw XCTSkip(
        "oneDNN kernels here are \(OneDNN.instructionSet), which the engine does not use; "
          + "the oneDNN path is not tested on this CPU")
    }
  }

  /// `fast` has `reference`'s shape and is within 1e-5 of its largest
  /// magnitude (at least 1) everywhere.
  static func assertClose(
    _ fast: Tensor, _ reference: Tensor, _ message: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(fast.shape, reference.shape, message, file: file, line: line)
    let scale = max(1, reference.storage.map(abs).max() ?? 0)
    XCTAssertLessThanOrEqual(
      fast.maxAbsoluteDifference(to: reference), 1e-5 * scale, message, file: file, line: line)
  }
}
