import Engine
import ModelFormats
import Training
import Tensors

/// What one training snapshot wrote.
public struct SnapshotFiles: Equatable, Sendable {
  public var filters: String
  public var featureMaps: String
}

/// Writes the pictures that let a user watch the first-layer filters form
/// during training: `filters-epoch-NNN.png` (the first Conv2D layer's
/// filters, diverging map, global symmetric range) and
/// `featuremaps-epoch-NNN.png` (that layer's maps, after its activation, of a
/// fixed probe image; viridis, per-map range) in `folder`, which must exist.
///
/// `probe` is one sample (1, C, H, W) shaped as the model's input. Call it at
/// the end of every Nth epoch; it runs one inference pass of one layer.
public func writeTrainingSnapshot(model: Sequential, probe: Tensor, epoch: Int, folder: String)
  throws(VisualizationError) -> SnapshotFiles
{
  guard let convIndex = model.layers.firstIndex(where: { $0 is Conv2D }),
    var conv = model.layers[convIndex] as? Conv2D
  else { throw .noLayer(kind: "Conv2D") }
  var maps = conv.forward(probe, mode: .inference)
  if convIndex + 1 < model.layers.count, var activation = model.layers[convIndex + 1] as? Activation
  {
    maps = activation.forward(maps, mode: .inference)
  }
  return try writeSnapshotPictures(
    kernel: conv.kernel.value, maps: maps, epoch: epoch, folder: folder)
}

/// The same snapshot from a model file, such as the checkpoint `convviz
/// train` writes at the end of every epoch.
public func writeTrainingSnapshot(model: ModelFile, probe: Tensor, epoch: Int, folder: String)
  throws(VisualizationError) -> SnapshotFiles
{
  guard let index = LayerActivations.convolutionLayers(of: model.spec).first else {
    throw .noLayer(kind: "Conv2D")
  }
  let kernel = try LayerActivations.convolution(model, layer: index).kernel
  let maps = try LayerActivations.compute(model: model, input: probe, through: index)
  return try writeSnapshotPictures(kernel: kernel, maps: maps, epoch: epoch, folder: folder)
}

private func writeSnapshotPictures(kernel: Tensor, maps: Tensor, epoch: Int, folder: String)
  throws(VisualizationError) -> SnapshotFiles
{
  let number = String(repeating: "0", count: max(0, 3 - String(epoch).count)) + String(epoch)
  let filtersPath = folder + "/filters-epoch-\(number).png"
  let mapsPath = folder + "/featuremaps-epoch-\(number).png"
  let weights = WeightGrid(kernel: kernel, title: "Epoch \(epoch): first-layer filters")
  try PictureFile.write(weights.render(), to: filtersPath)
  let mapsImage = Canvas.row(
    [FeatureMaps.grid(maps).render()], title: "Epoch \(epoch): feature maps of the probe")
  try PictureFile.write(mapsImage, to: mapsPath)
  return SnapshotFiles(filters: filtersPath, featureMaps: mapsPath)
}
