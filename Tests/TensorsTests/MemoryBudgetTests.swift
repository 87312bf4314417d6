import Tensors
import XCTest

final class MemoryEstimateTests: XCTestCase {
  func testSizesOfArrays() {
    XCTAssertEqual(MemoryEstimate.floats(2, 3, 4).bytes, 96)
    XCTAssertEqual(MemoryEstimate.bytes(7, 5).bytes, 35)
    XCTAssertEqual(MemoryEstimate.array(of: UInt16.self, [10, 10]).bytes, 200)
    XCTAssertEqual(MemoryEstimate.floats().bytes, 4, "a scalar")
    XCTAssertEqual(MemoryEstimate.floats(0, 1 << 40).bytes, 0)
    XCTAssertEqual((MemoryEstimate.floats(10) + .bytes(3)).bytes, 43)
    XCTAssertEqual((MemoryEstimate.floats(10) * 3).bytes, 120)
    XCTAssertEqual(MemoryEstimate.sum([.bytes(1), .bytes(2), .bytes(3)]).bytes, 6)
  }

  func testOverflowIsUnboundedNotACrash() {
    XCTAssertNil(MemoryEstimate.floats(1 << 40, 1 << 30).bytes)
    XCTAssertNil(MemoryEstimate.floats(3, 3, 3, Int.max).bytes, "featuremaps --random Int.max")
    XCTAssertNil((MemoryEstimate(bytes: Int.max) + .bytes(1)).bytes)
    XCTAssertNil((MemoryEstimate(bytes: Int.max / 2) * 3).bytes)
    XCTAssertNil((MemoryEstimate.unbounded + .zero).bytes)
    XCTAssertNil((MemoryEstimate.unbounded * 0).bytes, "unbounded stays unbounded")
    XCTAssertNil(MemoryEstimate.floats(-1, 5).bytes, "a negative size is never small")
    XCTAssertNil((MemoryEstimate.bytes(1) * -2).bytes)
  }

  func testOrderPutsUnboundedLast() {
    XCTAssertLessThan(MemoryEstimate.bytes(5), .bytes(6))
    XCTAssertLessThan(MemoryEstimate(bytes: Int.max), .unbounded)
    XCTAssertFalse(MemoryEstimate.unbounded < .bytes(1))
    XCTAssertEqual([MemoryEstimate.bytes(3), .unbounded, .bytes(9)].max(), .unbounded)
  }

  func testDescriptions() {
    XCTAssertEqual(MemoryEstimate.bytes(1).description, "1 byte")
    XCTAssertEqual(MemoryEstimate.bytes(1023).description, "1023 bytes")
    XCTAssertEqual(MemoryEstimate.bytes(1536).description, "1.5 KiB")
    XCTAssertEqual(MemoryEstimate(bytes: 8 << 30).description, "8.0 GiB")
    XCTAssertEqual(MemoryEstimate(bytes: 4_932_501_504).description, "4.6 GiB")
    XCTAssertEqual(MemoryEstimate(bytes: 3 << 50).description, "3.0 PiB")
    XCTAssertEqual(MemoryEstimate.unbounded.description, "more than 8 EiB")
  }
}

final class MemoryBudgetTests: XCTestCase {
  func testWithinTheBudgetPasses() throws {
    try MemoryBudget(bytes: 1 << 20).check(.floats(1000), for: "small")
    try MemoryBudget(bytes: 4000).check(.floats(1000), for: "exactly the budget")
  }

  func testOverTheBudgetNamesTheWorkTheEstimateAndTheBudget() {
    let budget = MemoryBudget(bytes: 1 << 30)
    XCTAssertThrowsError(try budget.check(MemoryEstimate(bytes: 8 << 30), for: "x.txt: training")) {
      error in
      XCTAssertEqual(
        error as? MemoryError,
        .overBudget(
          what: "x.txt: training", estimate: MemoryEstimate(bytes: 8 << 30), budget: budget))
      XCTAssertEqual(
        "\(error)", "x.txt: training: needs about 8.0 GiB, more than the memory budget of 1.0 GiB")
    }
    XCTAssertThrowsError(try budget.check(.unbounded, for: "huge")) { error in
      XCTAssertEqual(
        "\(error)", "huge: needs more than 8 EiB, more than the memory budget of 1.0 GiB")
    }
  }

  /// An allocation the system refuses is an error, not a crash: 2⁶² bytes
  /// is more than any machine can map.
  func testTheProbeTurnsARefusedAllocationIntoAnError() throws {
    try MemoryBudget.probe(1 << 20, for: "a megabyte")
    XCTAssertThrowsError(try MemoryBudget.probe(1 << 62, for: "p.png: maps")) { error in
      XCTAssertEqual(
        error as? MemoryError, .allocationFailed(what: "p.png: maps", estimate: .bytes(1 << 62)))
      XCTAssertTrue("\(error)".hasPrefix("p.png: maps: could not allocate 4.0 EiB"), "\(error)")
    }
    XCTAssertThrowsError(
      try MemoryBudget(bytes: Int.max).check(MemoryEstimate(bytes: 1 << 62), for: "big"))
  }

  func testTheDefaultIsThreeQuartersOfTheMemoryTheProcessCanHave() throws {
    let available = try XCTUnwrap(MemoryBudget.availableMemory)
    let pages = sysconf(Int32(_SC_PHYS_PAGES)) * sysconf(Int32(_SC_PAGESIZE))
    XCTAssertLessThanOrEqual(available, pages)
    XCTAssertEqual(MemoryBudget.systemDefault().bytes, Int(Double(available) * 0.75))
    XCTAssertEqual(MemoryBudget.fraction(0.5).bytes, Int(Double(available) * 0.5))
    XCTAssertEqual(MemoryBudget(bytes: 19_215_378_432).description, "17.9 GiB")
  }
}
