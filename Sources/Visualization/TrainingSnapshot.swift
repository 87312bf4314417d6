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
/// the end of every Nth epoch; it runs the network up to that layer.
///
/// The model is a file, such as the checkpoint `convviz train` writes at the
/// end of every epoch.
public func writeTrainingSnapshot(
  model: ModelFile, probe: Tensor, epoch: Int, folder: String
)
  throws(VisualizationError) -> SnapshotFiles
{
  guard let index = LayerActivations.convolutionLayers(of: model.spec).first else {
    throw .noLayer(kind: "Conv2D")
  }
  let kernel = try LayerActivations.convolution(model, layer: index).kernel
  let maps = try LayerActivations.compute(model: model, input: probe, through: index)
  return try writeSnapshotPictures(kernel: kernel, maps: maps, epoch: epoch, folder: folder)
}

private func writeSnapshotPictures(
  kernel: Tensor, maps: Tensor, epoch: Int, folder: String
)
  throws(VisualizationError) -> SnapshotFiles
{
  let number = String(repeating: "0", count: max(0, 3 - String(epoch).count)) + String(epoch)
  let filtersPath = folder + "/filters-epoch-\(number).png"
  let mapsPath = folder + "/featuremaps-epoch-\(number).png"
  let pictures = snapshotPictures(kernel: kernel, maps: maps, epoch: epoch)
  try PictureFile.write(pictures.filters.image, to: filtersPath)
  try PictureFile.write(pictures.featureMaps.image, to: mapsPath)
  return SnapshotFiles(filters: filtersPath, featureMaps: mapsPath)
}

/// The two snapshot pictures. Their titles avoid insiders' words such as
/// "probe": the maps are of one fixed training image.
func snapshotPictures(
  kernel: Tensor, maps: Tensor, epoch: Int
)
  -> (filters: Picture, featureMaps: Picture)
{
  (
    WeightGrid(kernel: kernel, title: "Epoch \(epoch): first-layer filters").picture(),
    FeatureMaps.picture(
      maps, title: "Epoch \(epoch): first-layer feature maps of one fixed training image")
  )
}
