import XCTest

@testable import convviz

final class TrainProgressBarTests: XCTestCase {
  func testRenderShowsCountBarTimesAndMetrics() {
    let line = ProgressBar.render(
      label: "epoch 2/8", done: 270, total: 540, elapsed: 12, loss: 0.23456, accuracy: 0.93125,
      width: 10)
    XCTAssertEqual(
      line, "epoch 2/8  270/540 [=====>....]  0:12<0:12  loss 0.2346  accuracy 0.9313")
  }

  func testRenderAtStartAndEnd() {
    let start = ProgressBar.render(
      label: "e", done: 0, total: 5, elapsed: 0, loss: 0, accuracy: 0, width: 4)
    XCTAssertEqual(start, "e  0/5 [>...]  0:00<?  loss 0.0000  accuracy 0.0000")
    let end = ProgressBar.render(
      label: "e", done: 5, total: 5, elapsed: 75, loss: 1, accuracy: 1, width: 4)
    XCTAssertEqual(end, "e  5/5 [====]  1:15<0:00  loss 1.0000  accuracy 1.0000")
  }

  func testClockTimeAndFixed() {
    XCTAssertEqual(ProgressBar.clockTime(0), "0:00")
    XCTAssertEqual(ProgressBar.clockTime(59.6), "1:00")
    XCTAssertEqual(ProgressBar.clockTime(3725), "1:02:05")
    XCTAssertEqual(ProgressBar.fixed(0.99999, 4), "1.0000")
    XCTAssertEqual(ProgressBar.fixed(-0.05, 1), "-0.1")
    XCTAssertEqual(ProgressBar.fixed(-0.00001, 2), "0.00")
    XCTAssertEqual(ProgressBar.fixed(12.5, 0), "13")
    XCTAssertEqual(ProgressBar.fixed(.nan, 2), "nan")
  }

  func testGroupedDigits() {
    XCTAssertEqual(ProgressBar.grouped(933_378), "933,378")
    XCTAssertEqual(ProgressBar.grouped(100), "100")
    XCTAssertEqual(ProgressBar.grouped(1_000), "1,000")
    XCTAssertEqual(ProgressBar.grouped(-1_234_567), "-1,234,567")
    XCTAssertEqual(ProgressBar.grouped(0), "0")
  }
}
