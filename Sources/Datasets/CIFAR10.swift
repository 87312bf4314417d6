import Tensors

/// Loads CIFAR-10 from its official binary batches.
///
/// Each record is one label byte followed by 3072 bytes: 32×32 red, then
/// green, then blue (already CHW). Training data is `data_batch_1.bin` …
/// `data_batch_5.bin` (those present, in order), test data `test_batch.bin`.
/// The files may sit in `folder` or in its `cifar-10-batches-bin` sub-folder,
/// as the official archive unpacks. See <https://www.cs.toronto.edu/~kriz/cifar.html>.
public enum CIFAR10 {
  public static let classNames = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
  ]
  static let side = 32
  static let recordSize = 1 + 3 * 32 * 32
  static let trainFiles = (1...5).map { "data_batch_\($0).bin" }
  static let testFile = "test_batch.bin"

  /// Whether `folder` (or its `cifar-10-batches-bin`) holds CIFAR-10 batches.
  public static func looksLike(_ folder: String) -> Bool { batchFolder(folder) != nil }

  /// Reads every training batch present and the test batch if present.
  public static func load(folder: String) throws(DatasetError) -> DatasetSplits {
    guard let root = batchFolder(folder) else {
      throw .missingFile(path: folder, expected: "data_batch_1.bin … data_batch_5.bin")
    }
    let trainPaths = trainFiles.map { FileSystem.join(root, $0) }.filter(FileSystem.isFile)
    guard !trainPaths.isEmpty else {
      throw .missingFile(path: root, expected: "data_batch_1.bin … data_batch_5.bin")
    }
    let train = try load(batches: trainPaths)
    let testPath = FileSystem.join(root, testFile)
    let test = FileSystem.isFile(testPath) ? try load(batches: [testPath]) : nil
    return DatasetSplits(train: train, test: test, format: .cifar10)
  }

  /// Reads and concatenates batch files into one (N, 3, 32, 32) data set.
  public static func load(batches paths: [String]) throws(DatasetError) -> Dataset {
    var labels: [Int] = []
    var storage: [Float] = []
    let pixels = recordSize - 1
    let table = PixelConversion.unitScale
    for path in paths {
      var stream = try ByteStream(path: path)
      let bytes = try stream.read(upTo: Int.max)
      guard bytes.count % recordSize == 0 else {
        throw .partialRecord(path: path, length: bytes.count, recordSize: recordSize)
      }
      let records = bytes.count / recordSize
      labels.reserveCapacity(labels.count + records)
      storage.reserveCapacity(storage.count + records * pixels)
      for record in 0..<records {
        let start = record * recordSize
        let label = Int(bytes[start])
        guard label < classNames.count else {
          throw .labelOutOfRange(path: path, label: label, classCount: classNames.count)
        }
        labels.append(label)
        for i in (start + 1)..<(start + recordSize) { storage.append(table[Int(bytes[i])]) }
      }
    }
    let shape = Shape(labels.count, 3, side, side)
    return Dataset(
      images: Tensor(shape: shape, storage: storage), labels: labels, classNames: classNames)
  }

  private static func batchFolder(_ folder: String) -> String? {
    for root in [folder, FileSystem.join(folder, "cifar-10-batches-bin")] {
      let names = trainFiles + [testFile]
      if names.contains(where: { FileSystem.isFile(FileSystem.join(root, $0)) }) { return root }
    }
    return nil
  }
}
