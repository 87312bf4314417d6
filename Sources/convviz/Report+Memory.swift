import Datasets
import ImageCodecs
import ModelFormats
import Tensors
import Visualization

extension Report {
  /// The image at `path` as `file`'s input for the feature-map section,
  /// once the maps of every convolution at its size fit the memory budget.
  func readSample(_ path: String, file: LoadedModel, channels: Int) throws -> Tensor {
    let photo = try decoding.read(path)
    // As ModelReport draws them: at display size, in bands, where they can be.
    let estimates = LayerActivations.convolutionLayers(of: file).map { layer in
      CommandMemory.featureMaps(
        photo: photo, model: file, channels: channels, layer: layer, maxTileSide: 128,
        overlay: false,
        bands: FeatureMapBands(
          model: file, inputHeight: photo.height, inputWidth: photo.width,
          inputChannels: channels, through: layer, maxTileSide: 128,
          bandBytes: FeatureMapBands.defaultBandBytes))
    }
    let estimate = estimates.max() ?? .zero
    try memory.check(
      estimate, for: "\(path): feature maps",
      alternative: CommandMemory.shrinkHint(estimate, photo: photo, budget: memory.budget))
    return FeatureMapsCommand.modelInput(
      photo, channels: channels,
      preprocessing: try input.settings(for: file, path: model).preprocessing)
  }

  /// Evaluating on `dataset`: its samples, the network in batches of 100,
  /// and the scores.
  func checkEvaluationMemory(_ dataset: Dataset, model: LoadedModel, folder: String) throws {
    try memory.check(
      model.inferenceMemory(batchSize: 100) + CommandMemory.samples(dataset)
        + .floats(dataset.count, model.network.outputShape.count) * 2,
      for: "\(folder): evaluating \(plural(dataset.count, "sample"))")
  }
}
