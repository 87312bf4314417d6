import Datasets
import Tensors
import XCTest

final class ClassNamesFileTests: XCTestCase {
  func testReadsOneNamePerLine() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(Array("T-shirt/top\r\nTrouser\nPullover\n\n".utf8), to: "l.txt")
    XCTAssertEqual(try ClassNamesFile.read(path), ["T-shirt/top", "Trouser", "Pullover"])
  }

  func testRefusesEmptyRepeatedAndBlankNames() throws {
    let folder = try TemporaryFolder()
    for (text, reason) in [
      ("", "no class names"), ("a\n\nb\n", "line 2 is empty"),
      ("cat\ndog\ncat\n", "line 3 repeats 'cat' from line 1"),
    ] {
      let path = try folder.write(Array(text.utf8), to: "labels.txt")
      XCTAssertThrowsDatasetError(
        try ClassNamesFile.read(path), .invalidClassNames(path: path, reason: reason))
    }
    let binary = try folder.write([0xff, 0xfe, 0x00], to: "bin.txt")
    XCTAssertThrowsDatasetError(
      try ClassNamesFile.read(binary), .invalidClassNames(path: binary, reason: "not UTF-8 text"))
  }

  func testRenamesTheClassesOfBothSplits() throws {
    let splits = try DatasetSplits.load(fixturePath("mnist5"))
    let names = (0..<10).map { "digit \($0)" }
    let renamed = try splits.renamingClasses(names, from: "l.txt")
    XCTAssertEqual(renamed.train.classNames, names)
    XCTAssertEqual(renamed.train.labels, splits.train.labels)
    XCTAssertThrowsDatasetError(
      try splits.renamingClasses(["a", "b"], from: "l.txt"),
      .classNameCountMismatch(path: "l.txt", names: 2, classes: 10))
  }

  /// IDX files store no names: the classes are the digits up to the largest label.
  func testIDXClassesFollowTheLabels() throws {
    let folder = try TemporaryFolder()
    try folder.write(idxBytes(dims: [3, 1, 1], payload: [0, 1, 2]), to: "train-images-idx3-ubyte")
    try folder.write(idxBytes(dims: [3], payload: [1, 0, 1]), to: "train-labels-idx1-ubyte")
    XCTAssertEqual(try MNIST.load(folder: folder.path).train.classNames, ["0", "1"])
  }
}
