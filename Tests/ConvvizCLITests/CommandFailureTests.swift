import Engine
import Training
import XCTest

@testable import convviz

/// Library errors become one-line failures with exit status 1, sorted by
/// type in one place; an engine error among them (a kernel out of memory
/// was a crash with a backtrace before the engine's operations threw).
final class CommandFailureTests: XCTestCase {
  func testEngineErrorsAreOneLineFailures() throws {
    let direct = try XCTUnwrap(
      CommandFailure(sorting: EngineError.outOfMemory(operation: "Conv2D forward")))
    XCTAssertEqual(direct.status, .failure)
    XCTAssertEqual(direct.description, "out of memory in Conv2D forward")

    let wrapped = try XCTUnwrap(
      CommandFailure(sorting: TrainerError.engine(.outOfMemory(operation: "Conv2D backward"))))
    XCTAssertEqual(wrapped.status, .failure)
    XCTAssertEqual(wrapped.description, "out of memory in Conv2D backward")
    XCTAssertFalse(wrapped.description.contains("\n"))
  }
}
