import Datasets
import Tensors
import XCTest

@testable import Engine
@testable import ModelFormats
@testable import Training

/// Data classes are matched to a model's by name (issue 15: a folder holding
/// only `cat/` and `ship/` was scored by sorted position against a model of
/// airplane/cat/ship).
final class ClassMatchingTests: XCTestCase {
  /// One 1×1 gray sample per label, its pixel = its index.
  private func data(labels: [Int], classNames: [String]) -> Dataset {
    Dataset(
      images: Tensor(shape: Shape(labels.count, 1, 1, 1), storage: labels.indices.map(Float.init)),
      labels: labels, classNames: classNames)
  }

  private let model = ["airplane", "cat", "ship"]

  func testSubsetOfClassesIsMatchedByName() throws {
    let folder = data(labels: [0, 1, 1, 0], classNames: ["cat", "ship"])
    let (matched, match) = try folder.matchingClasses(of: model, classCount: 3)
    XCTAssertEqual(matched.labels, [1, 2, 2, 1], "cats are cats, ships are ships")
    XCTAssertEqual(matched.classNames, model)
    XCTAssertEqual(matched.images, folder.images)
    XCTAssertEqual(match.absentClasses, [0], "airplane is absent, not 0% accurate")
    XCTAssertTrue(match.skippedClasses.isEmpty)
    XCTAssertFalse(match.byPosition)
  }

  func testUnknownClassIsAnErrorNamingItOrIsSkippedAndCounted() throws {
    let folder = data(labels: [0, 1, 2, 1], classNames: ["cat", "dog", "ship"])
    XCTAssertThrowsError(try folder.matchingClasses(of: model, classCount: 3)) { error in
      XCTAssertEqual(
        error as? TrainerError, .unknownClasses(["dog"], samples: 2, modelClasses: model))
      XCTAssertTrue("\(error)".contains("dog (2 samples)"), "\(error)")
    }
    let (matched, match) = try folder.matchingClasses(
      of: model, classCount: 3, ignoringUnknown: true)
    XCTAssertEqual(matched.labels, [1, 2])
    XCTAssertEqual(matched.images.storage, [0, 2], "the dog samples are gone, the rest in order")
    XCTAssertEqual(match.skippedSamples, 2)
    XCTAssertEqual(match.skippedClasses.map(\.name), ["dog"])
    XCTAssertEqual(match.absentClasses, [0])
  }

  func testCIFARNamesAgainstAThreeClassModel() throws {
    // CIFAR-10 labels 0 (airplane), 1 (automobile), 3 (cat), 8 (ship).
    let cifar = data(labels: [0, 1, 3, 8], classNames: CIFAR10.classNames)
    XCTAssertThrowsError(try cifar.matchingClasses(of: model, classCount: 3)) { error in
      XCTAssertEqual(
        error as? TrainerError, .unknownClasses(["automobile"], samples: 1, modelClasses: model),
        "no accuracy is printed for automobile")
    }
    let (matched, _) = try cifar.matchingClasses(of: model, classCount: 3, ignoringUnknown: true)
    XCTAssertEqual(matched.labels, [0, 1, 2])
  }

  func testClassesWithoutSamplesAreNotUnknown() throws {
    // A test part lists every training class, some with no sample left.
    let part = data(labels: [0], classNames: ["cat", "dog"])
    let (matched, match) = try part.matchingClasses(of: model, classCount: 3)
    XCTAssertEqual(matched.labels, [1])
    XCTAssertEqual(match.absentClasses, [0, 2])
  }

  func testPositionIsUsedOnlyWithoutNames() throws {
    let unnamed = data(labels: [1, 0, 2], classNames: [])
    let (matched, match) = try unnamed.matchingClasses(of: model, classCount: 3)
    XCTAssertEqual(matched.labels, [1, 0, 2])
    XCTAssertEqual(matched.classNames, model, "the model's names are shown")
    XCTAssertTrue(match.byPosition)
    let (byIndex, indexMatch) = try data(labels: [1, 0], classNames: ["x", "y"])
      .matchingClasses(of: [], classCount: 3)
    XCTAssertEqual(byIndex.labels, [1, 0])
    XCTAssertEqual(indexMatch.modelClasses, ["0", "1", "2"])
    XCTAssertThrowsError(
      try data(labels: [3], classNames: []).matchingClasses(of: [], classCount: 3)
    ) { error in
      XCTAssertEqual(
        error as? TrainerError, .unknownClasses(["3"], samples: 1, modelClasses: ["0", "1", "2"]))
    }
  }

  func testEvaluationOfAMatchedSubsetScoresByName() throws {
    // A fixed 3-class model that predicts the class given by the pixel:
    // logits = (x₀·w), with inputs one-hot over 3 channels.
    let spec = try ModelSpec.parse("input 1 1 3\nflatten\ndense 3 softmax\n")
    var network = spec.makeModel(parameters: [
      NamedTensor(
        name: "dense/kernel",
        tensor: Tensor(shape: Shape(3, 3), storage: [5, 0, 0, 0, 5, 0, 0, 0, 5])),
      NamedTensor(name: "dense/bias", tensor: Tensor(zeros: Shape(3))),
    ])
    // Two cats (model class 1) and a ship (class 2), in a folder of cat/ship.
    let images = Tensor(shape: Shape(3, 3, 1, 1), storage: [0, 1, 0, 0, 1, 0, 0, 0, 1])
    let folder = Dataset(images: images, labels: [0, 0, 1], classNames: ["cat", "ship"])
    let (matched, _) = try folder.matchingClasses(of: model, classCount: 3)
    let result = try network.evaluation(on: matched, spec: spec)
    XCTAssertEqual(result.accuracy, 1, "by position the cats would be airplanes")
    XCTAssertEqual(result.confusion, [[0, 0, 0], [0, 2, 0], [0, 0, 1]])
  }
}
