import Engine
import ModelFormats
import Tensors

/// Feature maps of an image too large to hold whole, made at display size:
/// the model runs on bands of input rows, and each band's maps are shrunk
/// to what the grid shows (box averages of `factor` × `factor` cells, as
/// `GridTile.downsampled` makes them) before the next band runs. Only one
/// band and the shrunk maps are ever in memory: a 36-megapixel photo
/// through the MNIST network holds 4.6 GB of maps whole, and under 300 MB
/// this way.
///
/// A band gives exact maps for the output rows whose windows all lie in
/// it: near a band's edge the engine pads with zeros (`same`) where the
/// whole image has real rows. Bands are planned backward from the output
/// rows they must give, with the rows their windows need; the planner then
/// follows the band forward and checks which rows came out exact. Band
/// edges fall on multiples of `factor`, so every shrunk cell comes from one
/// band and equals the cell of the whole maps.
///
/// Banding needs every `same` layer to have row stride 1 (its padding then
/// does not depend on the band's height) and maps longer than the largest
/// tile; `init` returns nil otherwise, and the maps are computed whole.
public struct FeatureMapBands: Sendable {
  /// Input rows a band reads, the output rows it gives (in the whole
  /// maps), and the whole-map row of its own first output row.
  public struct Band: Equatable, Sendable {
    public var inputRows: Range<Int>
    public var outputRows: Range<Int>
    public var outputStart: Int
  }

  /// The layer whose maps are made, numbered as in the spec.
  public let layer: Int
  /// Channels, height and width of the whole maps.
  public let channels: Int
  public let height: Int
  public let width: Int
  /// How many map cells, per side, one shown cell averages.
  public let factor: Int
  public let bands: [Band]

  /// The shape of the shrunk maps: (1, channels, ⌈height / factor⌉,
  /// ⌈width / factor⌉).
  public var shrunkShape: Shape {
    Shape(1, channels, (height + factor - 1) / factor, (width + factor - 1) / factor)
  }

  /// One row step of the model: window rows, row stride, and whether the
  /// layer pads (`same`, stride 1) or not (`valid`).
  struct Step: Equatable {
    var window: Int
    var stride: Int
    var same: Bool
  }

  /// Plans bands for `spec`'s layers 0...`layer` on an input of
  /// `inputHeight` × `inputWidth` × `inputChannels`, shrinking maps longer
  /// than `maxTileSide`. Each band is as tall as fits in about `bandBytes`
  /// (`ModelSpec.inferenceMemory` of the band), and at least one shown row.
  public init?(
    spec: ModelSpec, inputHeight: Int, inputWidth: Int, inputChannels: Int, through layer: Int,
    maxTileSide: Int, bandBytes: Int
  ) {
    guard layer >= 0, layer < spec.layers.count, let steps = Self.steps(spec, through: layer)
    else { return nil }
    self.init(
      steps: steps, inputHeight: inputHeight, inputWidth: inputWidth,
      inputChannels: inputChannels, through: layer, maxTileSide: maxTileSide,
      bandBytes: bandBytes, outputShape: { spec.outputShape(forInput: $0, through: layer) },
      memory: { spec.inferenceMemory(batchSize: 1, input: $0, through: layer) })
  }

  /// The same for any loaded model: a `model.bin` by its spec's rows, an
  /// imported graph when the way from its input to layer `layer` is a
  /// chain of convolutions, valid poolings, activations and dropouts.
  public init?(
    model: LoadedModel, inputHeight: Int, inputWidth: Int, inputChannels: Int,
    through layer: Int, maxTileSide: Int, bandBytes: Int
  ) {
    if let spec = model.spec {
      self.init(
        spec: spec, inputHeight: inputHeight, inputWidth: inputWidth,
        inputChannels: inputChannels, through: layer, maxTileSide: maxTileSide,
        bandBytes: bandBytes)
      return
    }
    guard layer >= 0, layer < model.layers.count,
      let steps = Self.steps(model.network.graph, to: model.layers[layer].tensor)
    else { return nil }
    self.init(
      steps: steps, inputHeight: inputHeight, inputWidth: inputWidth,
      inputChannels: inputChannels, through: layer, maxTileSide: maxTileSide,
      bandBytes: bandBytes, outputShape: { model.outputShape(forInput: $0, through: layer) },
      memory: { model.inferenceMemory(batchSize: 1, input: $0, through: layer) })
  }

  private init?(
    steps: [Step], inputHeight: Int, inputWidth: Int, inputChannels: Int, through layer: Int,
    maxTileSide: Int, bandBytes: Int, outputShape: (FeatureShape) -> FeatureShape?,
    memory: (FeatureShape) -> MemoryEstimate
  ) {
    guard maxTileSide >= 1,
      case .image(let height, let width, let channels)? = outputShape(
        .image(height: inputHeight, width: inputWidth, channels: inputChannels))
    else { return nil }
    let factor = (max(height, width) + maxTileSide - 1) / maxTileSide
    guard factor > 1 else { return nil }
    var inputHeights = [inputHeight]
    for step in steps.dropLast() {
      let h = inputHeights.last ?? inputHeight
      inputHeights.append(step.same ? h : (h - step.window) / step.stride + 1)
    }
    let geometry = RowGeometry(steps: steps, inputHeights: inputHeights)
    func bandMemory(rows: Int) -> MemoryEstimate {
      let input = geometry.inputRows(for: 0..<min(rows, height))
      return memory(.image(height: input.count, width: inputWidth, channels: inputChannels))
    }
    var rowsPerBand = factor
    let room = MemoryEstimate(bytes: bandBytes)
    while rowsPerBand < height, bandMemory(rows: rowsPerBand * 2) <= room {
      rowsPerBand *= 2
    }
    var bands: [Band] = []
    for start in stride(from: 0, to: height, by: rowsPerBand) {
      let rows = start..<min(start + rowsPerBand, height)
      let input = geometry.inputRows(for: rows)
      // A plan whose band misses rows it must give would draw wrong maps.
      guard let exact = geometry.exactRows(from: input), exact.rows.contains(rows.lowerBound),
        exact.rows.upperBound >= rows.upperBound
      else { return nil }
      bands.append(Band(inputRows: input, outputRows: rows, outputStart: exact.start))
    }
    self.layer = layer
    self.channels = channels
    self.height = height
    self.width = width
    self.factor = factor
    self.bands = bands
  }

  /// The row steps of layers 0...`layer`, or nil when one cannot be banded.
  static func steps(_ spec: ModelSpec, through layer: Int) -> [Step]? {
    var steps: [Step] = []
    for index in 0...layer {
      switch spec.layers[index] {
      case .conv2d(_, let kernel, let strides, let padding, _):
        let same = padding == .same
        if same && strides.height != 1 { return nil }
        steps.append(Step(window: kernel.height, stride: strides.height, same: same))
      case .pooling2d(_, let pool, let strides):
        steps.append(Step(window: pool.height, stride: strides.height, same: false))
      case .activation, .dropout:
        continue
      case .flatten, .dense:
        return nil
      }
    }
    return steps
  }
}

extension FeatureMapBands {
  /// The row steps from `graph`'s input to tensor `tensor`, or nil when
  /// the way there is not a chain of steps a band can take: each node
  /// reads one tensor; convolutions pad rows not at all or as `same` does
  /// with row stride 1; poolings do not pad.
  static func steps(_ graph: Graph, to tensor: String) -> [Step]? {
    var steps: [Step] = []
    var current = tensor
    while current != graph.input {
      guard let node = graph.nodes.first(where: { $0.output == current }),
        node.inputs.count == 1
      else { return nil }
      switch node.op {
      case let conv as Conv2D:
        // A dilated window reads rows across its whole span.
        let span = conv.dilations.y * (conv.kernelSize.height - 1) + 1
        guard let step = Self.step(span, conv.strides.y, conv.padding) else {
          return nil
        }
        steps.append(step)
      case let pool as Pooling2D:
        guard pool.padding == .valid, pool.window.dilationY == 1, !pool.window.ceilMode else {
          return nil
        }
        steps.append(Step(window: pool.poolSize.height, stride: pool.strides.y, same: false))
      case is Activation, is Dropout, is BatchNormalization:
        break
      default:
        return nil
      }
      current = node.inputs[0]
    }
    return steps.reversed()
  }

  /// A convolution's row step: no row padding is `valid`; `same`'s split
  /// with stride 1 is `same`; anything else cannot be banded.
  private static func step(_ window: Int, _ stride: Int, _ padding: Padding) -> Step? {
    switch padding {
    case .valid:
      return Step(window: window, stride: stride, same: false)
    case .same:
      return stride == 1 ? Step(window: window, stride: 1, same: true) : nil
    case .explicit(let top, let bottom, _, _):
      if top == 0 && bottom == 0 { return Step(window: window, stride: stride, same: false) }
      let before = (window - 1) / 2
      guard stride == 1, top == before, bottom == window - 1 - before else { return nil }
      return Step(window: window, stride: 1, same: true)
    }
  }
}

/// Which rows of each layer's input a band needs and gives.
struct RowGeometry {
  let steps: [FeatureMapBands.Step]
  /// The whole image's input height of each step.
  let inputHeights: [Int]

  /// Product of the valid steps' strides: a band starting on a multiple
  /// of it stays aligned with the whole image's windows at every step.
  var alignment: Int { steps.filter { !$0.same }.reduce(1) { $0 * $1.stride } }

  /// The input rows whose windows give output `rows` of the last step,
  /// with the first one moved back onto the alignment.
  func inputRows(for rows: Range<Int>) -> Range<Int> {
    var (low, high) = (rows.lowerBound, rows.upperBound)
    for (step, inputHeight) in zip(steps, inputHeights).reversed() {
      if step.same {
        let before = (step.window - 1) / 2
        (low, high) = (low - before, high - 1 + step.window - before)
      } else {
        (low, high) = (low * step.stride, (high - 1) * step.stride + step.window)
      }
      (low, high) = (max(low, 0), min(high, inputHeight))
    }
    return (low / alignment * alignment)..<high
  }

  /// Follows a band of `input` rows through the steps as the engine runs
  /// it alone: the whole-image rows of its last output that are exact, and
  /// the whole-image row of its first output row. nil when it is too short
  /// for a window.
  func exactRows(from input: Range<Int>) -> (rows: Range<Int>, start: Int)? {
    var start = input.lowerBound
    var count = input.count
    // Rows at the band's top and bottom that a window padded past the band.
    var (spoiltTop, spoiltBottom) = (0, 0)
    for (step, inputHeight) in zip(steps, inputHeights) {
      if step.same {
        let before = (step.window - 1) / 2
        if start > 0 { spoiltTop += before }
        if start + count < inputHeight { spoiltBottom += step.window - 1 - before }
      } else {
        guard count >= step.window, start % step.stride == 0 else { return nil }
        let outputs = (count - step.window) / step.stride + 1
        // Output j reads rows j·stride ..< j·stride + window.
        let firstSpoilt = max(0, (count - spoiltBottom - step.window + step.stride) / step.stride)
        spoiltTop = (spoiltTop + step.stride - 1) / step.stride
        spoiltBottom = max(0, outputs - firstSpoilt)
        (start, count) = (start / step.stride, outputs)
      }
    }
    guard spoiltTop + spoiltBottom <= count else { return nil }
    return ((start + spoiltTop)..<(start + count - spoiltBottom), start)
  }
}

extension FeatureMapBands {
  /// Room for one band when the caller has no memory budget to share out.
  public static let defaultBandBytes = 64 << 20

  /// The maps of layer `index` for `input` (1, C, H, W) as a grid with
  /// tiles of at most `maxTileSide` shows them: made in bands at display
  /// size when they are larger than that (and the model allows it), else
  /// whole (`LayerActivations.compute`).
  public static func displayMaps(
    model: ModelFile, input: Tensor, through index: Int, maxTileSide: Int,
    bandBytes: Int = defaultBandBytes
  ) throws(VisualizationError) -> Tensor {
    try displayMaps(
      model: LoadedModel(model), input: input, through: index, maxTileSide: maxTileSide,
      bandBytes: bandBytes)
  }

  /// `displayMaps` for any loaded model.
  public static func displayMaps(
    model: LoadedModel, input: Tensor, through index: Int, maxTileSide: Int,
    bandBytes: Int = defaultBandBytes
  ) throws(VisualizationError) -> Tensor {
    guard input.shape.rank == 4,
      let bands = FeatureMapBands(
        model: model, inputHeight: input.shape[2], inputWidth: input.shape[3],
        inputChannels: input.shape[1], through: index, maxTileSide: maxTileSide,
        bandBytes: bandBytes)
    else { return try LayerActivations.compute(model: model, input: input, through: index) }
    return try bands.run(model: model, input: input).maps
  }

  /// The maps of `input` (1, C, H, W, the size the bands were planned for)
  /// through `model`, band by band: the shrunk maps (`shrunkShape`), equal
  /// to `GridTile.downsampled(by: factor)` of the whole maps, and the
  /// channel with the largest mean (`FeatureMaps.strongestChannel` of the
  /// whole maps, summed in the same order).
  public func run(
    model: ModelFile, input: Tensor
  ) throws(VisualizationError)
    -> (maps: Tensor, strongestChannel: Int)
  {
    try run(model: LoadedModel(model), input: input)
  }

  /// `run` for a loaded model with the spec the bands were planned from.
  public func run(
    model: LoadedModel, input: Tensor
  ) throws(VisualizationError)
    -> (maps: Tensor, strongestChannel: Int)
  {
    let shape = shrunkShape
    let (shrunkHeight, shrunkWidth) = (shape[2], shape[3])
    var shrunk = [Float](repeating: 0, count: shape.count)
    var sums = [Float](repeating: 0, count: channels)
    for band in bands {
      let maps = try LayerActivations.compute(
        model: model, input: Self.rows(band.inputRows, of: input), through: layer)
      let bandHeight = maps.shape[2]
      maps.storage.withUnsafeBufferPointer { values in
        for k in 0..<channels {
          let plane = k * bandHeight * width
          for y in band.outputRows {
            let row = plane + (y - band.outputStart) * width
            for x in 0..<width { sums[k] += values[row + x] }
          }
          for shownY
            in (band.outputRows.lowerBound / factor)..<min(
              (band.outputRows.upperBound + factor - 1) / factor, shrunkHeight)
          {
            let rows = (shownY * factor)..<min(height, (shownY + 1) * factor)
            for shownX in 0..<shrunkWidth {
              var sum: Float = 0
              var count = 0
              for y in rows {
                let row = plane + (y - band.outputStart) * width
                for x in (shownX * factor)..<min(width, (shownX + 1) * factor) {
                  sum += values[row + x]
                  count += 1
                }
              }
              shrunk[(k * shrunkHeight + shownY) * shrunkWidth + shownX] = sum / Float(count)
            }
          }
        }
      }
    }
    var strongest = 0
    var bestMean = -Float.infinity
    for (k, sum) in sums.enumerated() where sum / Float(height * width) > bestMean {
      strongest = k
      bestMean = sum / Float(height * width)
    }
    return (Tensor(shape: shape, storage: shrunk), strongest)
  }

  /// Rows `rows` of every channel of a (1, C, H, W) tensor.
  static func rows(_ rows: Range<Int>, of input: Tensor) -> Tensor {
    let (c, h, w) = (input.shape[1], input.shape[2], input.shape[3])
    var storage: [Float] = []
    storage.reserveCapacity(c * rows.count * w)
    for k in 0..<c {
      storage += input.storage[((k * h + rows.lowerBound) * w)..<((k * h + rows.upperBound) * w)]
    }
    return Tensor(shape: Shape(1, c, rows.count, w), storage: storage)
  }
}
