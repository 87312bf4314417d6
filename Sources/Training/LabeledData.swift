import Engine
import ModelFormats
import Tensors

/// Images with their class labels, held in memory: what training,
/// evaluation and the Datasets loaders exchange.
///
/// `images` is (N, C, H, W) with values in [0, 1]; `labels[i]` is the class
/// index of image `i`.
public struct LabeledData: Sendable, Equatable {
  public var images: Tensor
  public var labels: [Int]

  public init(images: Tensor, labels: [Int]) {
    precondition(images.shape.rank == 4, "images must be (N, C, H, W), got \(images.shape)")
    precondition(
      images.shape[0] == labels.count, "\(labels.count) labels for \(images.shape[0]) images")
    self.images = images
    self.labels = labels
  }

  public var count: Int { labels.count }

  /// Splits off the last `fraction` of the samples, before any shuffling,
  /// as Keras's `validation_split` does: the cut is Int(N · (1 − fraction)).
  public func splitValidation(fraction: Double) -> (training: LabeledData, validation: LabeledData)
  {
    precondition(fraction >= 0 && fraction < 1, "validation split \(fraction) outside [0, 1)")
    let cut = Int(Double(count) * (1 - fraction))
    return (slice(0..<cut), slice(cut..<count))
  }

  /// Samples `range`, in order.
  public func slice(_ range: Range<Int>) -> LabeledData {
    LabeledData(images: images.samples(range), labels: Array(labels[range]))
  }

  /// The samples at `indices`, in that order, as one batch.
  func gather<C: Collection<Int>>(_ indices: C) -> (images: Tensor, labels: [Int]) {
    let stride = images.count / max(count, 1)
    var dims = images.shape.dims
    dims[0] = indices.count
    var storage = [Float](repeating: 0, count: indices.count * stride)
    storage.withUnsafeMutableBufferPointer { out in
      images.storage.withUnsafeBufferPointer { source in
        for (row, index) in indices.enumerated() {
          let from = source.baseAddress! + index * stride
          (out.baseAddress! + row * stride).update(from: from, count: stride)
        }
      }
    }
    return (Tensor(shape: Shape(dims), storage: storage), indices.map { labels[$0] })
  }

  /// Throws unless every image has the spec's input shape, the spec ends in
  /// class scores, and every label is one of its classes.
  func validate(for spec: ModelSpec) throws(TrainerError) {
    guard images.sampleShape == spec.input.tensorShape else {
      throw .inputShapeMismatch(expected: spec.input, found: images.sampleShape)
    }
    guard let classes = spec.classCount else { throw .outputNotClasses(spec.outputShape) }
    if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
      throw .labelOutOfRange(index: bad, label: labels[bad], classCount: classes)
    }
  }
}
