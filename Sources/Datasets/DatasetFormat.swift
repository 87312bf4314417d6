import Files
import ImageCodecs
import Tensors

/// The on-disk layouts a data set can come in.
public enum DatasetFormat: String, Sendable, CaseIterable, CustomStringConvertible {
  /// Four IDX files: MNIST or Fashion-MNIST.
  case mnist
  /// CIFAR-10 binary batches.
  case cifar10
  /// One sub-folder of PNG/JPEG images per class.
  case imageFolder = "folder"

  public var description: String { rawValue }

  /// Guesses the format of the data set in `folder` from the files it holds.
  public static func detect(_ folder: String) throws(DatasetError) -> DatasetFormat {
    guard Path.isDirectory(folder) else {
      if Path.isFile(folder) {
        throw .unreadable(path: folder, reason: "a data set is a folder, not a file")
      }
      throw .unreadable(path: folder, reason: "no such folder")
    }
    if MNIST.looksLike(folder) { return .mnist }
    if CIFAR10.looksLike(folder) { return .cifar10 }
    if ImageFolder.looksLike(folder) { return .imageFolder }
    throw .unknownFormat(path: folder)
  }
}

extension DatasetSplits {
  /// Reads the data set in `folder`, detecting its format unless `format` is given.
  ///
  /// - Parameters:
  ///   - channels: for image folders, 1 or 3 (nil: from the first image).
  ///     MNIST is always 1 channel and CIFAR-10 always 3.
  ///   - seed: shuffles image-folder files (before any validation split).
  ///   - limit: keep only the first `limit` samples of each split; nothing
  ///     past them is decoded (image files, IDX and CIFAR records alike).
  ///   - size: bring every sample to this size, with its resize mode; a
  ///     size that differs under `.none` is left for the caller to refuse.
  ///   - decodeOptions: how image-folder files are decoded (pixel limit,
  ///     orientation, leniency).
  ///   - reading: for image folders, threads, bad files, cache and progress.
  public static func load(
    _ folder: String, format: DatasetFormat? = nil, channels: Int? = nil, seed: UInt64 = 0,
    limit: Int? = nil, size: SampleSize? = nil, decodeOptions: DecodeOptions = .default,
    reading: ImageFolderReading = ImageFolderReading()
  ) throws(DatasetError) -> DatasetSplits {
    let resolved: DatasetFormat
    if let format { resolved = format } else { resolved = try DatasetFormat.detect(folder) }
    var splits: DatasetSplits
    switch resolved {
    case .mnist: splits = try MNIST.load(folder: folder, limit: limit)
    case .cifar10: splits = try CIFAR10.load(folder: folder, limit: limit)
    case .imageFolder:
      return try ImageFolder.load(
        folder: folder, channels: channels, seed: seed, limit: limit, size: size,
        decodeOptions: decodeOptions, reading: reading)
    }
    if let size {
      splits.train = splits.train.resized(to: size) ?? splits.train
      splits.test = splits.test.map { $0.resized(to: size) ?? $0 }
    }
    return splits
  }
}
