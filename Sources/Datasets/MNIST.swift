import Files
import Tensors

/// Loads MNIST or Fashion-MNIST from a folder of the four official IDX files.
///
/// The files may be gzip or raw, named with or without `.gz`:
/// `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
/// `t10k-labels-idx1-ubyte`. Images become (N, 1, rows, columns) floats x/255.
public enum MNIST {
  /// The base names of the image and label files of each split.
  static let trainFiles = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
  static let testFiles = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

  /// Whether `folder` holds at least the training images of an MNIST-style set.
  public static func looksLike(_ folder: String) -> Bool {
    locate(trainFiles.0, in: folder) != nil
  }

  /// Reads both splits; the test split is optional, the training split is not.
  ///
  /// Labels are class indices 0...9. IDX files store no class names, so
  /// the classes are the digits "0" up to the largest label of either
  /// split (all ten for MNIST; a `--labels` file can name them, e.g. for
  /// Fashion-MNIST's garments). With `limit`, each split keeps its first
  /// `limit` samples and no image past them is decoded.
  public static func load(folder: String, limit: Int? = nil) throws(DatasetError) -> DatasetSplits {
    guard
      var train = try loadSplit(folder: folder, files: trainFiles, required: true, limit: limit)
    else {
      throw .missingFile(path: folder, expected: "\(trainFiles.0) or \(trainFiles.0).gz")
    }
    var test = try loadSplit(folder: folder, files: testFiles, required: false, limit: limit)
    let names = max(train.classNames.count, test?.classNames.count ?? 0)
    train.classNames = digitNames(names)
    test?.classNames = digitNames(names)
    return DatasetSplits(train: train, test: test, format: .mnist)
  }

  /// "0", "1", … for `count` classes.
  static func digitNames(_ count: Int) -> [String] { (0..<count).map(String.init) }

  /// Reads one images/labels pair into a `Dataset` whose classes are the
  /// digits up to its largest label (its first `limit` samples when given).
  ///
  /// Both headers are checked before any data is read. The labels (a byte a
  /// sample) are read whole, so the classes do not depend on `limit`; the
  /// images stop after the kept ones.
  public static func load(
    imagesPath: String, labelsPath: String, limit: Int? = nil
  )
    throws(DatasetError) -> Dataset
  {
    let imagesHeader = try IDXFile.Header.read(path: imagesPath)
    guard imagesHeader.elementType == .uint8, imagesHeader.dims.count == 3 else {
      throw .unexpectedShape(
        path: imagesPath, found: imagesHeader.summary,
        expected: "unsigned bytes of shape (N, rows, columns)")
    }
    let labelsHeader = try IDXFile.Header.read(path: labelsPath)
    guard labelsHeader.elementType == .uint8, labelsHeader.dims.count == 1 else {
      throw .unexpectedShape(
        path: labelsPath, found: labelsHeader.summary, expected: "unsigned bytes of shape (N)")
    }
    guard imagesHeader.dims[0] == labelsHeader.dims[0] else {
      throw .countMismatch(
        imagesPath: imagesPath, images: imagesHeader.dims[0], labelsPath: labelsPath,
        labels: labelsHeader.dims[0])
    }
    let labels = try IDXFile.read(labelsPath)
    let allLabels = labels.bytes.map(Int.init)
    if let bad = allLabels.first(where: { $0 >= 10 }) {
      throw .labelOutOfRange(path: labelsPath, label: bad, classCount: 10)
    }
    let classNames = digitNames((allLabels.max() ?? -1) + 1)
    let images = try IDXFile.read(imagesPath, limit: limit)
    let shape = Shape(images.dims[0], 1, images.dims[1], images.dims[2])
    return Dataset(
      bytes: images.bytes, shape: shape, labels: Array(allLabels.prefix(shape[0])),
      classNames: classNames)
  }

  private static func loadSplit(
    folder: String, files: (String, String), required: Bool, limit: Int?
  ) throws(DatasetError) -> Dataset? {
    let imagesPath = locate(files.0, in: folder)
    let labelsPath = locate(files.1, in: folder)
    if imagesPath == nil && labelsPath == nil && !required { return nil }
    guard let imagesPath else {
      throw .missingFile(path: folder, expected: "\(files.0) or \(files.0).gz")
    }
    guard let labelsPath else {
      throw .missingFile(path: folder, expected: "\(files.1) or \(files.1).gz")
    }
    return try load(imagesPath: imagesPath, labelsPath: labelsPath, limit: limit)
  }

  /// The path of `name` or `name.gz` in `folder`, whichever exists (raw first).
  static func locate(_ name: String, in folder: String) -> String? {
    for candidate in [name, name + ".gz"] {
      let path = Path.join(folder, candidate)
      if Path.isFile(path) { return path }
    }
    return nil
  }
}
