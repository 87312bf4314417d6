import XCTest

@testable import convviz

final class ProgressBarTests: XCTestCase {
  func testRenderShowsCountBarTimesAndDetail() {
    let line = ProgressBar.render(
      label: "epoch 2/8", done: 270, total: 540, elapsed: 12,
      detail: "loss \(TextFormat.fixed(0.23456, 4))  accuracy \(TextFormat.fixed(0.93125, 4))",
      width: 10)
    XCTAssertEqual(
      line, "epoch 2/8  270/540 [=====>....]  0:12<0:12  loss 0.2346  accuracy 0.9313")
  }

  func testRenderAtStartAndEndWithoutDetail() {
    let start = ProgressBar.render(label: "e", done: 0, total: 5, elapsed: 0, width: 4)
    XCTAssertEqual(start, "e  0/5 [>...]  0:00<?")
    let end = ProgressBar.render(label: "e", done: 5, total: 5, elapsed: 75, width: 4)
    XCTAssertEqual(end, "e  5/5 [====]  1:15<0:00")
  }

  func testClockTimeAndFixed() {
    XCTAssertEqual(TextFormat.clockTime(0), "0:00")
    XCTAssertEqual(TextFormat.clockTime(59.6), "1:00")
    XCTAssertEqual(TextFormat.clockTime(3725), "1:02:05")
    XCTAssertEqual(TextFormat.fixed(0.99999, 4), "1.0000")
    XCTAssertEqual(TextFormat.fixed(-0.05, 1), "-0.1")
    XCTAssertEqual(TextFormat.fixed(-0.00001, 2), "0.00")
    XCTAssertEqual(TextFormat.fixed(12.5, 0), "13")
    XCTAssertEqual(TextFormat.fixed(.nan, 2), "nan")
  }

  func testGroupedDigits() {
    XCTAssertEqual(TextFormat.grouped(933_378), "933,378")
    XCTAssertEqual(TextFormat.grouped(100), "100")
    XCTAssertEqual(TextFormat.grouped(1_000), "1,000")
    XCTAssertEqual(TextFormat.grouped(-1_234_567), "-1,234,567")
    XCTAssertEqual(TextFormat.grouped(0), "0")
  }

  /// Regression: "1 epochs" in messages.
  func testPluralsAndShortestNumbers() {
    XCTAssertEqual(plural(1, "epoch"), "1 epoch")
    XCTAssertEqual(plural(0, "epoch"), "0 epochs")
    XCTAssertEqual(plural(2, "sample"), "2 samples")
    XCTAssertEqual(TextFormat.shortest(2.0), "2")
    XCTAssertEqual(TextFormat.shortest(2.5), "2.5")
    XCTAssertEqual(TextFormat.shortest(Float(-10)), "-10")
  }
}
