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
  /// Labels are class indices 0...9; `classNames` are "0"..."9" (for
  /// Fashion-MNIST the caller may substitute the garment names). With
  /// `limit`, each split keeps its first `limit` samples and nothing past
  /// them is decoded.
  public static func load(folder: String, limit: Int? = nil) throws(DatasetError) -> DatasetSplits {
    guard
      let train = try loadSplit(folder: folder, files: trainFiles, required: true, limit: limit)
    else {
      throw .missingFile(path: folder, expected: "\(trainFiles.0) or \(trainFiles.0).gz")
    }
    let test = try loadSplit(folder: folder, files: testFiles, required: false, limit: limit)
    return DatasetSplits(train: train, test: test, format: .mnist)
  }

  /// Reads one images/labels pair into a `Dataset` (its first `limit`
  /// samples when given). Both headers are checked before any data is read.
  public static func load(imagesPath: String, labelsPath: String, limit: Int? = nil)
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
    let images = try IDXFile.read(imagesPath, limit: limit)
    let labels = try IDXFile.read(labelsPath, limit: limit)
    let classNames = (0..<10).map(String.init)
    let labelValues = labels.bytes.map(Int.init)
    if let bad = labelValues.first(where: { $0 >= classNames.count }) {
      throw .labelOutOfRange(path: labelsPath, label: bad, classCount: classNames.count)
    }
    let shape = Shape(images.dims[0], 1, images.dims[1], images.dims[2])
    let storage = images.bytes.map { PixelConversion.unitScale[Int($0)] }
    return Dataset(
      images: Tensor(shape: shape, storage: storage), labels: labelValues,
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
