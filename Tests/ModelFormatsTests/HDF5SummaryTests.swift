import Foundation
import Tensors
import XCTest
import _HDF5Shims

@testable import ModelFormats

/// The HDF5 reader: a child process reads the whole file and sends back a
/// summary, which this process parses without ever calling libhdf5 itself.
final class HDF5SummaryTests: XCTestCase {
  private func open(_ bytes: [UInt8]) throws -> HDF5Object {
    try HDF5Object.open(
      bytes, seconds: 30, tensorLimit: 1 << 30, memoryLimit: 1 << 30, summaryLimit: 1 << 30)
  }

  private func problem(_ body: () throws -> Void) -> KerasProblem? {
    do {
      try body()
      return nil
    } catch let problem as KerasProblem {
      return problem
    } catch {
      XCTFail("untyped \(error)")
      return nil
    }
  }

  /// Regression (CI's 30 s fuzz run, 2026-12-04): a corrupt `.h5` went
  /// through the old child process's check but then crashed libhdf5 in
  /// convviz's own process (`H5HG_read`), which read the file a second
  /// time in its own order. Now the child's reading is the only reading:
  /// one child per file, and libhdf5 never opens a file in this process.
  func testOneChildReadsEachFileAndThisProcessNeverOpensOne() throws {
    let before = cvz_h5_children_started()
    for name in KerasModelTests.models {
      for file in ["model.keras", "model.h5"] {
        let model = try KerasModel.decode(
          try KerasModelTests.fixture(name, file), path: file)
        _ = try model.makeGraph()
      }
    }
    XCTAssertEqual(cvz_h5_children_started() - before, UInt64(KerasModelTests.models.count * 2))
    XCTAssertEqual(cvz_h5_files_opened(), 0)
    for crash in 1...4 {
      let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(
          "FuzzRegressions/keras/libhdf5-crash-\(crash).h5")
      let bytes = [UInt8](try Data(contentsOf: url))
      XCTAssertThrowsError(try KerasModel.decode(bytes, path: "x.h5").makeGraph())
    }
    XCTAssertEqual(cvz_h5_files_opened(), 0)
  }

  /// Hard links to one object (twice, and back to the root: a cycle), a
  /// soft link, a dangling soft link and a link to another file
  /// (Fixtures/make_hdf5_links.py).
  func testLinksOfEveryKind() throws {
    let root = try open(try KerasModelTests.fixture("mnist-narrow", "linked.h5"))
    let weights = try XCTUnwrap(root.group("model_weights"))
    let names = try weights.childNames()
    XCTAssertEqual(names, names.sorted())
    for name in ["again", "loop", "soft", "dangling", "outside", "dense", "conv2d"] {
      XCTAssertTrue(names.contains(name), name)
    }
    let dense = try XCTUnwrap(weights.group("dense"))
    let again = try XCTUnwrap(weights.group("again"))
    XCTAssertEqual(again.index, dense.index, "read once however many links reach it")
    let kernel = try XCTUnwrap(dense.child("mnist_narrow/dense/kernel"))
    XCTAssertEqual(kernel.kind, .dataset)
    let values = try kernel.tensor(what: "kernel")
    XCTAssertEqual(values.shape, Shape([1152, 32]))
    XCTAssertEqual(
      try XCTUnwrap(weights.child("soft")).tensor(what: "soft").storage, values.storage)
    XCTAssertEqual(
      try XCTUnwrap(again.child("mnist_narrow/dense/kernel")).index, kernel.index)
    // The cycle: the root again, as many times round as asked.
    let round = try XCTUnwrap(weights.group("loop/model_weights/loop//model_weights/dense"))
    XCTAssertEqual(round.index, dense.index)
    XCTAssertEqual(try XCTUnwrap(weights.child("loop")).index, root.index)
    XCTAssertEqual(
      problem { _ = try weights.child("outside") }, .corruptHDF5(reason: "a link to another file"))
    guard case .corruptHDF5(let reason) = problem({ _ = try weights.child("dangling/x") }) else {
      return XCTFail("a dangling soft link opened")
    }
    XCTAssertTrue(reason.hasPrefix("cannot open an HDF5 object"), reason)
    XCTAssertNil(try weights.child("nothing"))
    XCTAssertNil(try weights.child("dense/nothing/kernel"))
    XCTAssertNil(try kernel.child("below/a/dataset"))
    XCTAssertEqual(
      try dense.strings("weight_names"), ["mnist_narrow/dense/kernel", "mnist_narrow/dense/bias"])
    XCTAssertNil(try dense.strings("no such attribute"))
    // What is not a dataset has no shape.
    guard case .corruptHDF5 = problem({ _ = try dense.shape() }) else {
      return XCTFail("a group's shape")
    }
    // The model reads as the file without the links does.
    let linked = try KerasModel.decode(
      try KerasModelTests.fixture("mnist-narrow", "linked.h5"), path: "linked.h5")
    let plain = try KerasModel.decode(
      try KerasModelTests.fixture("mnist-narrow", "model.h5"), path: "model.h5")
    let (input, expected) = try KerasModelTests.reference("mnist-narrow")
    var network = try linked.makeNetwork(path: "linked.h5")
    var reference = try plain.makeNetwork(path: "model.h5")
    let output = try network.forward(input, mode: .inference)
    XCTAssertEqual(output.storage, try reference.forward(input, mode: .inference).storage)
    KerasModelTests.assertClose(output, expected, "linked.h5")
  }

  /// A file that sends libhdf5 round a loop (Fuzz/libhdf5-hangs/) is
  /// refused once the child has had its time, which `decode` sets at 10 s
  /// and a second per 16 MiB; here 1 s.
  func testAChildThatTakesTooLongIsStopped() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
        "Fuzz/libhdf5-hangs/hang-1.h5")
    let bytes = [UInt8](try Data(contentsOf: url))
    XCTAssertEqual(KerasModel.readingTime(fileBytes: bytes.count), 10, accuracy: 0.01)
    let start = Date()
    XCTAssertEqual(
      problem {
        _ = try HDF5Object.open(
          bytes, seconds: 1, tensorLimit: 1 << 30, memoryLimit: 1 << 30, summaryLimit: 1 << 30)
      },
      .corruptHDF5(reason: "libhdf5 did not finish reading it in 1 s: the file is corrupt"))
    let elapsed = Date().timeIntervalSince(start)
    XCTAssertGreaterThanOrEqual(elapsed, 1)
    XCTAssertLessThan(elapsed, 5)
  }

  /// A summary larger than allowed ends the child: the model's weights
  /// need more than the 64 KiB allowed here.
  func testASummaryOverItsLimitIsRefused() throws {
    let bytes = try KerasModelTests.fixture("mnist-narrow", "model.h5")
    XCTAssertEqual(
      problem {
        _ = try HDF5Object.open(
          bytes, seconds: 30, tensorLimit: 1 << 30, memoryLimit: 1 << 30, summaryLimit: 64 << 10)
      },
      .corruptHDF5(reason: "its contents need more than 64 KiB, more than allowed"))
  }

  /// The summary is parsed with every length checked: each truncation of
  /// a real one is refused as malformed, never read past its end.
  func testEveryTruncatedSummaryIsRefused() throws {
    let bytes = try KerasModelTests.fixture("mnist-narrow", "model.h5")
    var summary: UnsafeRawPointer? = nil
    var size = 0
    var message = [CChar](repeating: 0, count: 512)
    XCTAssertEqual(cvz_h5_load(&message, message.count), 0)
    let status = bytes.withUnsafeBytes {
      cvz_h5_read_in_child(
        $0.baseAddress, $0.count, 30, 1 << 30, 1 << 30, 1 << 30, &summary, &size, &message,
        message.count)
    }
    XCTAssertEqual(status, 0)
    let whole = [UInt8](UnsafeRawBufferPointer(start: try XCTUnwrap(summary), count: size))
    cvz_h5_summary_free(summary, size)
    XCTAssertNoThrow(try parse(whole))
    var cuts = Array(0..<min(size, 4096))
    cuts += stride(from: 4096, to: size, by: 997)
    cuts.append(size - 1)
    for cut in cuts {
      XCTAssertEqual(
        problem { _ = try parse(Array(whole.prefix(cut))) },
        .corruptHDF5(reason: "the process reading the HDF5 file sent back a malformed summary"),
        "cut at \(cut)")
    }
  }

  /// Parses `bytes` as a summary (in a mapping of its own, which the
  /// summary unmaps).
  private func parse(_ bytes: [UInt8]) throws {
    let length = max(bytes.count, 1)
    let mapping = try XCTUnwrap(
      mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
    XCTAssertNotEqual(mapping, MAP_FAILED)
    if !bytes.isEmpty {
      bytes.withUnsafeBytes { mapping.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    }
    _ = try HDF5Summary(mapping: UnsafeRawPointer(mapping), size: length)
  }
}
