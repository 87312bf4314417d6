import XCTest

final class VersionAndHelpTests: XCTestCase {
  func testVersionPrintsAndSucceeds() throws {
    let result = try ConvvizBinary.run(["--version"])
    XCTAssertEqual(result.status, 0)
    XCTAssertTrue(result.standardOutput.hasPrefix("0."), result.standardOutput)
  }

  func testHelpListsSubcommands() throws {
    let result = try ConvvizBinary.run(["--help"])
    XCTAssertEqual(result.status, 0)
    XCTAssertTrue(result.standardOutput.contains("USAGE: convviz"), result.standardOutput)
  }

  func testUnknownSubcommandIsAUsageError() throws {
    let result = try ConvvizBinary.run(["no-such-command"])
    XCTAssertEqual(result.status, 64)
    XCTAssertTrue(result.standardError.contains("no-such-command"), result.standardError)
  }
}
