import Datasets
import ImageCodecs
import ModelFormats
import Tensors
import Visualization

extension Report {
  /// The image at `path` as `file`'s input for the feature-map section,
  /// once the maps of every convolution at its size fit the memory budget.
  func readSample(_ path: String, file: ModelFile, channels: Int) throws -> Tensor {
    let photo = try decoding.read(path)
    // As ModelReport draws them: at display size, in bands, where they can be.
    let estimates = LayerActivations.convolutionLayers(of: file.spec).map {
      CommandMemory.featureMaps(
        photo: photo, spec: file.spec, channels: channels, layer: $0, maxTileSide: 128,
        overlay: false,
        bands: FeatureMapBands(
          spec: file.spec, inputHeight: photo.height, inputWidth: photo.width,
          inputChannels: channels, through: $0, maxTileSide: 128,
          bandBytes: FeatureMapBands.defaultBandBytes))
    }
    let estimate = estimates.max() ?? .zero
    try memory.check(
      estimate, for: "\(path): feature maps",
      alternative: CommandMemory.shrinkHint(estimate, photo: photo, budget: memory.budget))
    return FeatureMapsCommand.modelInput(photo, channels: channels)
  }

  /// Evaluating on `dataset`: its samples, the network in batches of 100,
  /// and the scores.
  func checkEvaluationMemory(_ dataset: Dataset, spec: ModelSpec, folder: String) throws {
    try memory.check(
      spec.inferenceMemory(batchSize: 100) + CommandMemory.samples(dataset)
        + .floats(dataset.count, spec.outputShape.count) * 2,
      for: "\(folder): evaluating \(plural(dataset.count, "sample"))")
  }
}
