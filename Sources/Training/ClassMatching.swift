import Datasets
import Tensors

/// How the classes of a data set correspond to a model's.
///
/// Classes are matched by name whenever both sides have names (image-folder
/// names, CIFAR-10's names, MNIST's digits, a `--labels` file; the names a
/// model file stores), so that a folder holding only some of the model's
/// classes, or the same classes in another order, is scored right. Only
/// when one side has no names are classes matched by position.
public struct ClassMatch: Equatable, Sendable {
  /// The model's class names, by class index (the class numbers when the
  /// model stores no names).
  public var modelClasses: [String]
  /// Model classes with no sample in the data: they get no accuracy.
  public var absentClasses: [Int]
  /// Data classes the model does not know, with their sample counts, in
  /// data-set order; their samples were skipped.
  public var skippedClasses: [(name: String, samples: Int)]
  /// Whether classes were matched by position because a side has no names.
  public var byPosition: Bool

  public var skippedSamples: Int { skippedClasses.reduce(0) { $0 + $1.samples } }

  public static func == (a: ClassMatch, b: ClassMatch) -> Bool {
    a.modelClasses == b.modelClasses && a.absentClasses == b.absentClasses
      && a.skippedClasses.map(\.name) == b.skippedClasses.map(\.name)
      && a.skippedClasses.map(\.samples) == b.skippedClasses.map(\.samples)
      && a.byPosition == b.byPosition
  }
}

extension Dataset {
  /// The data relabelled with the model's class indices and names, and how
  /// the classes matched.
  ///
  /// - Parameters:
  ///   - modelClassNames: the names a model file stores; ignored unless
  ///     there is one per class.
  ///   - classCount: the model's number of outputs.
  ///   - ignoringUnknown: skip (and count) the samples of classes the model
  ///     does not know, instead of throwing `unknownClasses`.
  public func matchingClasses(
    of modelClassNames: [String], classCount: Int, ignoringUnknown: Bool = false
  ) throws(TrainerError) -> (data: Dataset, match: ClassMatch) {
    precondition(labels.allSatisfy { $0 >= 0 }, "labels must not be negative")
    let modelHasNames = modelClassNames.count == classCount
    let named = modelHasNames && !classNames.isEmpty
    let dataNames = (0..<max(classNames.count, (labels.max() ?? -1) + 1)).map {
      $0 < classNames.count ? classNames[$0] : String($0)
    }
    let modelClasses =
      modelHasNames
      ? modelClassNames
      : (dataNames.count == classCount ? dataNames : (0..<classCount).map(String.init))
    // The model class of each data label; nil when the model has no such class.
    let target: [Int?]
    if named {
      let index = Dictionary(
        modelClassNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
      target = dataNames.map { index[$0] }
    } else {
      target = dataNames.indices.map { $0 < classCount ? $0 : nil }
    }
    var samplesPerDataClass = [Int](repeating: 0, count: dataNames.count)
    for label in labels { samplesPerDataClass[label] += 1 }
    let skipped = dataNames.indices.filter { target[$0] == nil && samplesPerDataClass[$0] > 0 }
      .map { (name: dataNames[$0], samples: samplesPerDataClass[$0]) }
    if !skipped.isEmpty && !ignoringUnknown {
      throw .unknownClasses(
        skipped.map(\.name), samples: skipped.reduce(0) { $0 + $1.samples },
        modelClasses: modelClasses)
    }
    var kept: [Int] = []
    var newLabels: [Int] = []
    for (i, label) in labels.enumerated() {
      if let mapped = target[label] {
        kept.append(i)
        newLabels.append(mapped)
      }
    }
    var data = kept.count == count ? self : selecting(kept)
    data.labels = newLabels
    data.classNames = modelClasses
    var present = [Bool](repeating: false, count: classCount)
    for label in newLabels { present[label] = true }
    let match = ClassMatch(
      modelClasses: modelClasses, absentClasses: present.indices.filter { !present[$0] },
      skippedClasses: skipped, byPosition: !named)
    return (data, match)
  }
}
