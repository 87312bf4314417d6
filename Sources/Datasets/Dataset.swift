import ImageCodecs
import Tensors

/// Labelled images held in memory: the unit every loader produces.
///
/// `images` is (N, C, H, W) with samples scaled to [0, 1]; `labels[i]` is the
/// class index of image `i`, an index into `classNames`.
public struct Dataset: Sendable, Equatable {
  public var images: Tensor
  public var labels: [Int]
  public var classNames: [String]

  public init(images: Tensor, labels: [Int], classNames: [String]) {
    precondition(images.shape.rank == 4, "images must be (N, C, H, W), got \(images.shape)")
    precondition(
      images.shape[0] == labels.count, "\(labels.count) labels for \(images.shape[0]) images")
    self.images = images
    self.labels = labels
    self.classNames = classNames
  }

  /// The number of samples, N.
  public var count: Int { labels.count }
  /// The shape of one sample, (C, H, W).
  public var sampleShape: Shape { Shape(Array(images.shape.dims.dropFirst())) }

  /// The samples in `range`, in order.
  public func slice(_ range: Range<Int>) -> Dataset {
    precondition(
      range.lowerBound >= 0 && range.upperBound <= count, "slice \(range) out of 0..<\(count)")
    let stride = sampleShape.count
    var dims = images.shape.dims
    dims[0] = range.count
    let storage = Array(images.storage[(range.lowerBound * stride)..<(range.upperBound * stride)])
    return Dataset(
      images: Tensor(shape: Shape(dims), storage: storage), labels: Array(labels[range]),
      classNames: classNames)
  }

  /// The first `n` samples (all of them when `n >= count`).
  public func prefix(_ n: Int) -> Dataset { slice(0..<min(max(n, 0), count)) }

  /// Splits off the last `fraction` of the samples for validation, as Keras's
  /// `validation_split` does: no shuffling here (image folders are shuffled
  /// when loaded). The cut is `Int(count * (1 - fraction))`, as in Keras's `fit`.
  public func splitValidation(fraction: Double) -> (train: Dataset, validation: Dataset) {
    precondition(fraction >= 0 && fraction < 1, "validation fraction \(fraction) outside [0, 1)")
    let cut = Int(Double(count) * (1 - fraction))
    return (slice(0..<cut), slice(cut..<count))
  }

  /// How many samples each class has, indexed like `classNames`.
  public var classCounts: [Int] {
    var counts = [Int](repeating: 0, count: classNames.count)
    for label in labels where label >= 0 && label < counts.count { counts[label] += 1 }
    return counts
  }
}

/// A data set as found on disk: a training part and, when the files have
/// one, a test part.
public struct DatasetSplits: Sendable {
  public var train: Dataset
  public var test: Dataset?
  public var format: DatasetFormat
  /// Images with damaged data that a lenient decode accepted (image folders
  /// read with `DecodeOptions.lenient`), in file order.
  public var warnings: [CodecWarning]

  public init(
    train: Dataset, test: Dataset?, format: DatasetFormat, warnings: [CodecWarning] = []
  ) {
    self.train = train
    self.test = test
    self.format = format
    self.warnings = warnings
  }
}
