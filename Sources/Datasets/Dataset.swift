import ImageCodecs
import Tensors

/// Labelled images held in memory: what every loader produces and what
/// training and evaluation take.
///
/// `images` is (N, C, H, W) with samples scaled to [0, 1]; `labels[i]` is the
/// class index of image `i`, an index into `classNames` (which may be empty
/// for data without names).
///
/// Data that came from 8-bit pixels without arithmetic on them (MNIST,
/// CIFAR-10, most image folders) is held as those bytes, a quarter of the
/// floats' memory, and becomes floats (`b / 255`, exactly as before) only
/// when a batch is gathered; `images` makes the whole float tensor on
/// demand. Either way the numbers a model sees are the same.
public struct Dataset: Sendable, Equatable {
  /// The samples as floats, or as bytes b standing for b / 255.
  enum Samples: Sendable {
    case floats(Tensor)
    case bytes([UInt8], Shape)
  }

  var samples: Samples
  public var labels: [Int]
  public var classNames: [String]
  /// What `batch` applies to the samples on the way to a model (mean,
  /// std, scale, channel order; see `PixelConversion.normalize`): the
  /// standard one leaves them in [0, 1]. `images` and `slice` keep the
  /// samples as they are, for pictures.
  public var preprocessing = Preprocessing.standard

  public init(images: Tensor, labels: [Int], classNames: [String]) {
    precondition(images.shape.rank == 4, "images must be (N, C, H, W), got \(images.shape)")
    precondition(
      images.shape[0] == labels.count, "\(labels.count) labels for \(images.shape[0]) images")
    self.samples = .floats(images)
    self.labels = labels
    self.classNames = classNames
  }

  /// Per-sample features (N, ...) of rank 2 or more, e.g. what a frozen
  /// backbone computes for transfer learning: (N, C, H, W) maps or (N, F)
  /// vectors, taken as they are (keep `preprocessing` standard).
  public init(features: Tensor, labels: [Int], classNames: [String]) {
    precondition(features.shape.rank >= 2, "features must be (N, ...), got \(features.shape)")
    precondition(
      features.shape[0] == labels.count, "\(labels.count) labels for \(features.shape[0]) samples")
    self.samples = .floats(features)
    self.labels = labels
    self.classNames = classNames
  }

  /// Images given as 8-bit samples (N, C, H, W), each byte b standing for
  /// b / 255.
  public init(bytes: [UInt8], shape: Shape, labels: [Int], classNames: [String]) {
    precondition(shape.rank == 4, "images must be (N, C, H, W), got \(shape)")
    precondition(bytes.count == shape.count, "\(bytes.count) bytes for shape \(shape)")
    precondition(shape[0] == labels.count, "\(labels.count) labels for \(shape[0]) images")
    self.samples = .bytes(bytes, shape)
    self.labels = labels
    self.classNames = classNames
  }

  /// All samples as one float tensor (made on demand for byte data).
  public var images: Tensor {
    get {
      switch samples {
      case .floats(let tensor): return tensor
      case .bytes(let bytes, let shape):
        return Tensor(shape: shape, storage: bytes.map { PixelConversion.unitScale[Int($0)] })
      }
    }
    set {
      precondition(newValue.shape.rank == 4, "images must be (N, C, H, W)")
      samples = .floats(newValue)
    }
  }

  /// The shape of all samples, (N, C, H, W).
  public var shape: Shape {
    switch samples {
    case .floats(let tensor): return tensor.shape
    case .bytes(_, let shape): return shape
    }
  }

  /// Whether the samples are held as bytes.
  public var holdsBytes: Bool {
    if case .bytes = samples { return true }
    return false
  }

  /// The bytes of the samples, when held as bytes.
  var sampleBytes: [UInt8]? {
    if case .bytes(let bytes, _) = samples { return bytes }
    return nil
  }

  /// The same data held as bytes when every value is exactly b / 255.
  func compacted() -> Dataset {
    guard case .floats(let tensor) = samples,
      let bytes = PixelConversion.exactBytes(tensor.storage)
    else { return self }
    return Dataset(bytes: bytes, shape: tensor.shape, labels: labels, classNames: classNames)
  }

  /// The number of samples, N.
  public var count: Int { labels.count }
  /// The shape of one sample, (C, H, W).
  public var sampleShape: Shape { Shape(Array(shape.dims.dropFirst())) }

  /// The samples in `range`, in order, held as these are (with the same
  /// preprocessing).
  public func slice(_ range: Range<Int>) -> Dataset {
    precondition(
      range.lowerBound >= 0 && range.upperBound <= count, "slice \(range) out of 0..<\(count)")
    let stride = sampleShape.count
    var dims = shape.dims
    dims[0] = range.count
    let span = (range.lowerBound * stride)..<(range.upperBound * stride)
    var part: Dataset
    switch samples {
    case .floats(let tensor):
      part = Dataset(
        features: Tensor(shape: Shape(dims), storage: Array(tensor.storage[span])),
        labels: Array(labels[range]), classNames: classNames)
    case .bytes(let bytes, _):
      part = Dataset(
        bytes: Array(bytes[span]), shape: Shape(dims), labels: Array(labels[range]),
        classNames: classNames)
    }
    part.preprocessing = preprocessing
    return part
  }

  /// The samples at `indices`, in that order, held as these are (with the
  /// same preprocessing).
  public func selecting(_ indices: [Int]) -> Dataset {
    let stride = sampleShape.count
    var dims = shape.dims
    dims[0] = indices.count
    func gather<T>(_ values: [T]) -> [T] {
      var out: [T] = []
      out.reserveCapacity(indices.count * stride)
      for index in indices {
        precondition(index >= 0 && index < count, "sample \(index) out of 0..<\(count)")
        out += values[(index * stride)..<((index + 1) * stride)]
      }
      return out
    }
    let newLabels = indices.map { labels[$0] }
    var part: Dataset
    switch samples {
    case .floats(let tensor):
      part = Dataset(
        features: Tensor(shape: Shape(dims), storage: gather(tensor.storage)), labels: newLabels,
        classNames: classNames)
    case .bytes(let bytes, _):
      part = Dataset(
        bytes: gather(bytes), shape: Shape(dims), labels: newLabels, classNames: classNames)
    }
    part.preprocessing = preprocessing
    return part
  }

  /// The first `n` samples (all of them when `n >= count`).
  public func prefix(_ n: Int) -> Dataset { slice(0..<min(max(n, 0), count)) }

  /// The samples at `indices`, in that order, as one batch of floats
  /// through `preprocessing`: what a training step or an evaluation reads,
  /// without copying the rest of the data set.
  public func batch<C: Collection<Int>>(_ indices: C) -> (images: Tensor, labels: [Int]) {
    let stride = sampleShape.count
    var dims = shape.dims
    dims[0] = indices.count
    var storage = [Float](repeating: 0, count: indices.count * stride)
    storage.withUnsafeMutableBufferPointer { out in
      for (row, index) in indices.enumerated() {
        precondition(index >= 0 && index < count, "sample \(index) out of 0..<\(count)")
        let to = out.baseAddress! + row * stride
        switch samples {
        case .floats(let tensor):
          tensor.storage.withUnsafeBufferPointer { source in
            to.update(from: source.baseAddress! + index * stride, count: stride)
          }
        case .bytes(let bytes, _):
          PixelConversion.unitScale.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { source in
              let from = source.baseAddress! + index * stride
              for k in 0..<stride { to[k] = table[Int(from[k])] }
            }
          }
        }
      }
    }
    let (channels, pixels) = (dims[1], dims[2...].reduce(1, *))
    PixelConversion.normalize(&storage, channels: channels, pixels: pixels, preprocessing)
    return (Tensor(shape: Shape(dims), storage: storage), indices.map { labels[$0] })
  }

  /// Equal labels, class names, shapes and sample values, however held.
  public static func == (a: Dataset, b: Dataset) -> Bool {
    guard a.labels == b.labels, a.classNames == b.classNames, a.shape == b.shape,
      a.preprocessing == b.preprocessing
    else {
      return false
    }
    switch (a.samples, b.samples) {
    case (.bytes(let x, _), .bytes(let y, _)): return x == y
    case (.floats(let x), .floats(let y)): return x == y
    default: return a.images == b.images
    }
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
