import Engine
import Tensors

/// One dataset crop that excites a unit: where the unit's maximum over
/// positions was and the input pixels its receptive field covers there.
public struct Patch: Sendable {
  /// The unit's largest activation over positions in this sample.
  public var value: Float
  /// The sample's index in the order samples were added.
  public var sample: Int
  /// The position of the maximum in the layer's maps (the first in row
  /// order when several are equal).
  public var y: Int
  public var x: Int
  /// The receptive field at (y, x), (C, size, size′): pixels outside the
  /// image are 0.
  public var crop: Tensor

  /// Whether this patch ranks above `other`: a larger value, or an equal
  /// value from an earlier sample.
  func ranksAbove(_ other: Patch) -> Bool {
    value != other.value ? value > other.value : sample < other.sample
  }
}

/// The k samples that activate each unit (channel) of a spatial layer
/// most, from one pass over the data (the deep-visualization toolbox's
/// "top 9", Yosinski et al. 2015). A min-heap of k patches per unit holds
/// the best so far, so memory stays at k × units crops whatever the
/// data's size.
public struct TopPatches: Sendable {
  public let k: Int
  public let units: Int
  public let field: ReceptiveField
  /// One min-heap per unit: the worst kept patch at the root.
  private var heaps: [[Patch]]
  private var samplesSeen = 0

  public init(k: Int, units: Int, field: ReceptiveField) {
    precondition(k >= 1 && units >= 1, "k and units must be at least 1")
    self.k = k
    self.units = units
    self.field = field
    heaps = Array(repeating: [], count: units)
  }

  /// Adds a batch: `images` (N, C, H, W) and the layer's activation for
  /// them (N, units, h, w). Samples are numbered in the order added.
  public mutating func add(images: Tensor, activation: Tensor) {
    precondition(
      activation.shape.rank == 4 && activation.shape[1] == units,
      "activation is not (N, units, h, w)")
    precondition(images.batchCount == activation.batchCount, "one activation per image")
    let (h, w) = (activation.shape[2], activation.shape[3])
    let plane = h * w
    for n in 0..<images.batchCount {
      for unit in 0..<units {
        let base = (n * units + unit) * plane
        var best = 0
        for p in 1..<plane where activation.storage[base + p] > activation.storage[base + best] {
          best = p
        }
        let value = activation.storage[base + best]
        let sample = samplesSeen + n
        var heap = heaps[unit]
        // Compare before cropping: most samples are not among the best.
        if heap.count == k {
          let root = heap[0]
          guard value > root.value || (value == root.value && sample < root.sample) else {
            continue
          }
        }
        let patch = Patch(
          value: value, sample: sample, y: best / w, x: best % w,
          crop: crop(images, sample: n, y: best / w, x: best % w))
        Self.push(patch, into: &heap, capacity: k)
        heaps[unit] = heap
      }
    }
    samplesSeen += images.batchCount
  }

  /// Each unit's patches, best first.
  public func patches() -> [[Patch]] {
    heaps.map { $0.sorted { $0.ranksAbove($1) } }
  }

  /// The receptive field of position (y, x) in sample `n`, zero outside
  /// the image.
  func crop(_ images: Tensor, sample n: Int, y: Int, x: Int) -> Tensor {
    let (c, height, width) = (images.shape[1], images.shape[2], images.shape[3])
    let (rows, columns) = field.window(y: y, x: x)
    var out = Tensor(zeros: Shape(c, rows.count, columns.count))
    for k in 0..<c {
      for (oy, iy) in rows.enumerated() where iy >= 0 && iy < height {
        for (ox, ix) in columns.enumerated() where ix >= 0 && ix < width {
          out.storage[(k * rows.count + oy) * columns.count + ox] =
            images.storage[((n * c + k) * height + iy) * width + ix]
        }
      }
    }
    return out
  }

  /// Inserts into a min-heap (by rank) of at most `capacity` patches.
  static func push(_ patch: Patch, into heap: inout [Patch], capacity: Int) {
    if heap.count < capacity {
      heap.append(patch)
      var i = heap.count - 1
      while i > 0 {
        let parent = (i - 1) / 2
        guard heap[parent].ranksAbove(heap[i]) else { break }
        heap.swapAt(parent, i)
        i = parent
      }
      return
    }
    guard patch.ranksAbove(heap[0]) else { return }
    heap[0] = patch
    var i = 0
    while true {
      let (left, right) = (2 * i + 1, 2 * i + 2)
      var worst = i
      if left < heap.count, heap[worst].ranksAbove(heap[left]) { worst = left }
      if right < heap.count, heap[worst].ranksAbove(heap[right]) { worst = right }
      guard worst != i else { return }
      heap.swapAt(i, worst)
      i = worst
    }
  }
}
