import Datasets
import Foundation
import ImageCodecs
import ModelFormats
import Tensors

/// What the commands' big steps will hold at once, from sizes known before
/// they allocate (file sizes, image headers, shapes, options), for
/// `MemoryOptions.check`. The library estimates (`ModelSpec.trainingMemory`,
/// `inferenceMemory`) cover the models; these cover the files, pictures
/// and images around them.
enum CommandMemory {
  /// Reading a model file: its bytes and the tensors decoded from them.
  /// nil when the file cannot be looked at (reading it then fails anyway).
  static func modelFile(_ path: String) -> MemoryEstimate? {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
      attributes[.type] as? FileAttributeType == .typeRegular,
      let size = attributes[.size] as? Int
    else { return nil }
    return .bytes(size) * 2
  }

  /// A loaded data set: its images (bytes or Float32, as held) and its labels.
  static func dataset(_ splits: DatasetSplits?) -> MemoryEstimate {
    guard let splits else { return .zero }
    let parts = [splits.train] + (splits.test.map { [$0] } ?? [])
    return .sum(parts.map { samples($0) + .array(of: Int.self, [$0.labels.count]) })
  }

  /// The samples of `dataset` as it holds them.
  static func samples(_ dataset: Dataset) -> MemoryEstimate {
    dataset.holdsBytes ? .bytes(dataset.shape.count) : .floats(dataset.shape.count)
  }

  /// A picture of `width` × `height` RGB pixels on its way to a file: the
  /// canvas, the canvas it is composed onto (title, colour bar) and the
  /// encoded file, which for noise can be as large as the pixels. (Hence
  /// the factor 3 wherever pictures are counted.)
  static func picture(width: Int, height: Int) -> MemoryEstimate {
    .bytes(width, height, 3) * 3
  }

  /// A decoded image as `image.samples8`/`samples16` hold it.
  static func image(_ image: Image) -> MemoryEstimate {
    image.bitDepth == .eight
      ? .bytes(image.width, image.height, image.channels)
      : .array(of: UInt16.self, [image.width, image.height, image.channels])
  }

  /// A (1, channels, H, W) tensor of `photo`, with the 8-bit gray or RGB
  /// copy it is converted from.
  static func photoTensor(_ photo: Image, channels: Int) -> MemoryEstimate {
    .floats(channels, photo.height, photo.width) + .bytes(photo.width, photo.height, channels)
  }

  /// Drawing feature maps (`channels` maps of `height` × `width`, counted
  /// by whoever computes them) as a grid: the grid's copy of the maps, its
  /// tiles shrunk to at most `maxTileSide` (and at least the 96 px small
  /// maps are enlarged to), and the picture of those tiles.
  static func featureMapPicture(
    channels: Int, height: Int, width: Int, maxTileSide: Int
  )
    -> MemoryEstimate
  {
    let copy = MemoryEstimate.floats(channels, height, width)
    let factor = max(1, (max(height, width) + maxTileSide - 1) / maxTileSide)
    let tileHeight = max(96, (height + factor - 1) / factor)
    let tileWidth = max(96, (width + factor - 1) / factor)
    let shrunk = MemoryEstimate.floats(channels, tileHeight, tileWidth)
    // Each tile's cell in the picture: the tile, its padding and label.
    let cells = MemoryEstimate.bytes(channels, tileWidth + 8, tileHeight + 24, 3) * 3
    return copy + shrunk + cells
  }

  /// `--overlay`: the photo in gray, one map plane, and the photo-sized
  /// picture they are blended into.
  static func overlay(photo: Image, mapHeight: Int, mapWidth: Int) -> MemoryEstimate {
    .bytes(photo.width, photo.height) + .floats(mapHeight, mapWidth)
      + picture(width: max(photo.width, 256), height: max(photo.height, 256))
  }

  /// The most megapixels an image may have for an estimate that grows with
  /// its pixels to fit `budget` ("shrink the photo to N megapixels").
  static func fittingMegapixels(
    _ estimate: MemoryEstimate, pixels: Int, budget: MemoryBudget
  )
    -> Double?
  {
    guard let bytes = estimate.bytes, bytes > 0, pixels > 0 else { return nil }
    return Double(budget.bytes) / (Double(bytes) / Double(pixels)) / 1e6
  }
}
