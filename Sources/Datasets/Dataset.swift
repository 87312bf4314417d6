import ImageCodecs
import Tensors

/// Labelled images held in memory: what every loader produces and what
/// training and evaluation take.
///
/// `images` is (N, C, H, W) with samples scaled to [0, 1]; `labels[i]` is the
/// class index of image `i`, an index into `classNames` (which may be empty
/// for data without names).
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

  /// The samples at `indices`, in that order, as one batch: what a
  /// training step reads, without copying the rest of the data set.
  public func batch<C: Collection<Int>>(_ indices: C) -> (images: Tensor, labels: [Int]) {
    let stride = sampleShape.count
    var dims = images.shape.dims
    dims[0] = indices.count
    var storage = [Float](repeating: 0, count: indices.count * stride)
    storage.withUnsafeMutableBufferPointer { out in
      images.storage.withUnsafeBufferPointer { source in
        for (row, index) in indices.enumerated() {
          precondition(index >= 0 && index < count, "sample \(index) out of 0..<\(count)")
          let from = source.baseAddress! + index * stride
          (out.baseAddress! + row * stride).update(from: from, count: stride)
        }
      }
    }
    return (Tensor(shape: Shape(dims), storage: storage), indices.map { labels[$0] })
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
  /// Image-folder files left out by `ImageFolderReading.skipBad`, in file order.
  public var skipped: [SkippedImage] = []
  /// What happened with the decoded cache, for the user ("decoded images
  /// from the cache …", "rebuilding the decoded cache …: it is truncated");
  /// writing a new cache goes without saying.
  public var notes: [String] = []

  public init(
    train: Dataset, test: Dataset?, format: DatasetFormat, warnings: [CodecWarning] = []
  ) {
    self.train = train
    self.test = test
    self.format = format
    self.warnings = warnings
  }
}
