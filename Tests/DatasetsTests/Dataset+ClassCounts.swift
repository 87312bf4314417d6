import Datasets

extension Dataset {
  /// How many samples each class has, indexed like `classNames`.
  var classCounts: [Int] {
    var counts = [Int](repeating: 0, count: classNames.count)
    for label in labels where label >= 0 && label < counts.count { counts[label] += 1 }
    return counts
  }
}
