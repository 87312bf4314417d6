import ImageCodecs
import ModelFormats
import Tensors
import Visualization

extension FeatureMapsCommand {
  /// Refuses a photo whose maps through `layer` of `spec` would not fit the
  /// memory budget, before the photo becomes a tensor.
  func checkMemory(
    photo: Image, path: String, model: LoadedModel, channels: Int, layer: Int,
    bands: FeatureMapBands?
  ) throws {
    // A layer that does not exist is refused by the run, naming it.
    guard layer < model.layers.count else { return }
    let estimate = CommandMemory.featureMaps(
      photo: photo, model: model, channels: channels, layer: layer, maxTileSide: maxTile,
      overlay: overlay, bands: bands)
    try memory.check(
      estimate, for: "\(path): feature maps of \(model.layers[layer].name)",
      alternative: CommandMemory.shrinkHint(estimate, photo: photo, budget: memory.budget))
  }

  /// The same for `count` random 3×3 filters over the photo's colours: the
  /// filters, the maps (before and after the activation) and the pictures.
  func checkMemory(photo: Image, path: String, randomFilters count: Int) throws {
    let (h, w) = (max(photo.height - 2, 1), max(photo.width - 2, 1))
    let estimate =
      CommandMemory.photoTensor(photo, channels: 3) + .floats(3, 3, 3, count) * 2
      + .floats(count, h, w)
      + CommandMemory.mapPictures(
        photo: photo, channels: count, height: h, width: w, maxTileSide: maxTile,
        overlay: overlay)
      + CommandMemory.picture(width: 50, height: 50) * count
    try memory.check(estimate, for: "\(path): \(count) random feature maps")
  }
}

extension FeatureMapsCommand {
  /// How much one band of rows may take: a quarter of the budget, at most
  /// 256 MiB (taller bands save little time).
  static func bandBytes(within budget: MemoryBudget) -> Int {
    min(budget.bytes / 4, 256 << 20)
  }
}

extension CommandMemory {
  /// The maps of `photo` through `layer` of `spec`: the photo as the
  /// model's input, the network at the photo's size (or, with `bands`, on
  /// its largest band, with the band's rows copied out and the shrunk maps
  /// it adds to), the maps and their pictures (`overlay`: also the
  /// strongest map over the photo).
  static func featureMaps(
    photo: Image, model: LoadedModel, channels: Int, layer: Int, maxTileSide: Int,
    overlay: Bool, bands: FeatureMapBands? = nil
  ) -> MemoryEstimate {
    let input = FeatureShape.image(height: photo.height, width: photo.width, channels: channels)
    if let bands {
      let band =
        bands.bands.map {
          model.inferenceMemory(
            batchSize: 1,
            input: .image(height: $0.inputRows.count, width: photo.width, channels: channels),
            through: layer)
            + .floats(channels, $0.inputRows.count, photo.width)
        }.max() ?? .zero
      let shrunk = bands.shrunkShape
      return photoTensor(photo, channels: channels) + band + .floats(shrunk.count)
        + mapPictures(
          photo: photo, channels: shrunk[1], height: shrunk[2], width: shrunk[3],
          maxTileSide: maxTileSide, overlay: overlay)
    }
    var estimate =
      photoTensor(photo, channels: channels)
      + model.inferenceMemory(batchSize: 1, input: input, through: layer)
    if case .image(let h, let w, let c)? = model.outputShape(forInput: input, through: layer) {
      estimate += mapPictures(
        photo: photo, channels: c, height: h, width: w, maxTileSide: maxTileSide,
        overlay: overlay)
    }
    return estimate
  }

  static func mapPictures(
    photo: Image, channels: Int, height: Int, width: Int, maxTileSide: Int, overlay: Bool
  ) -> MemoryEstimate {
    featureMapPicture(channels: channels, height: height, width: width, maxTileSide: maxTileSide)
      + (overlay ? self.overlay(photo: photo, mapHeight: height, mapWidth: width) : .zero)
  }

  /// "or shrink the photo (7360×4912) to about 2.10 megapixels": what fits
  /// `budget` when the estimate grows with the photo's pixels.
  static func shrinkHint(
    _ estimate: MemoryEstimate, photo: Image, budget: MemoryBudget
  )
    -> String?
  {
    fittingMegapixels(estimate, pixels: photo.width * photo.height, budget: budget).map {
      "or shrink the photo (\(photo.width)×\(photo.height)) to about "
        + "\(TextFormat.fixed(max($0, 0.01), 2)) megapixels"
    }
  }
}
