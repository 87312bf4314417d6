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
    XCTAssertTrue(result.standardOutput.contains("SUBCOMMANDS"), result.standardOutput)
  }

  func testUnknownSubcommandIsAUsageError() throws {
    let result = try ConvvizBinary.run(["no-such-command"])
    XCTAssertEqual(result.status, 64)
    XCTAssertTrue(result.standardError.contains("no-such-command"), result.standardError)
  }
}

final class HelpRegressionTests: XCTestCase {
  /// Regression: the root command's help request reached the "work failed"
  /// branch of `main` and printed `convviz: error: CommandError(...)`.
  func testBareCommandAndSubcommandHelpSucceed() throws {
    for arguments in [["--help"], ["help"], ["filter", "--help"], ["help", "filter"]] {
      let result = try ConvvizBinary.run(arguments)
      XCTAssertEqual(result.status, 0, "\(arguments): \(result.standardError)")
      XCTAssertFalse(result.standardError.contains("error"), result.standardError)
    }
    let bare = try ConvvizBinary.run([])
    XCTAssertTrue((bare.standardOutput + bare.standardError).contains("USAGE"))
  }

  func testEveryOptionOfFilterHasHelpAndEnumsListTheirValues() throws {
    let help = try ConvvizBinary.run(["filter", "--help"]).standardOutput
    for option in [
      "--kernel", "--stride", "--dilation", "--padding", "--border", "--range", "--gray",
      "--scale", "--bias", "--max-pixels", "--keep-orientation", "--quality", "--timings",
    ] {
      XCTAssertTrue(help.contains(option), "filter --help lacks \(option)")
    }
    let flattened = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    XCTAssertTrue(flattened.contains("values: zero, replicate, reflect, wrap"), help)
    XCTAssertTrue(flattened.contains("values: clamp, normalize, abs"), help)
  }
}
