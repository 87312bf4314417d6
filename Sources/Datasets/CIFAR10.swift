import Files
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

  /// Reads every training batch present and the test batch if present
  /// (each split's first `limit` records when given).
  public static func load(folder: String, limit: Int? = nil) throws(DatasetError) -> DatasetSplits {
    guard let root = batchFolder(folder) else {
      throw .missingFile(path: folder, expected: "data_batch_1.bin … data_batch_5.bin")
    }
    let trainPaths = trainFiles.map { Path.join(root, $0) }.filter(Path.isFile)
    guard !trainPaths.isEmpty else {
      throw .missingFile(path: root, expected: "data_batch_1.bin … data_batch_5.bin")
    }
    let train = try load(batches: trainPaths, limit: limit)
    let testPath = Path.join(root, testFile)
    let test = Path.isFile(testPath) ? try load(batches: [testPath], limit: limit) : nil
    return DatasetSplits(train: train, test: test, format: .cifar10)
  }

  /// Reads and concatenates batch files into one (N, 3, 32, 32) data set;
  /// with `limit`, reading stops after that many records.
  public static func load(
    batches paths: [String], limit: Int? = nil
  ) throws(DatasetError)
    -> Dataset
  {
    var labels: [Int] = []
    var storage: [UInt8] = []
    let pixels = recordSize - 1
    for path in paths {
      let wanted = limit.map { max($0 - labels.count, 0) } ?? Int.max / recordSize
      if wanted == 0 { break }
      var stream = try ByteStream(path: path)
      let bytes = try stream.read(upTo: wanted * recordSize)
      // Read to the end: the length must be whole records. Stopped early: a
      // raw file's size on disk still says so (a gzip file's rest is unread).
      let readToEnd = bytes.count < wanted * recordSize || stream.isGzip
      let length = readToEnd ? bytes.count : stream.fileSize
      guard length % recordSize == 0 else {
        throw .partialRecord(path: path, length: length, recordSize: recordSize)
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
        storage += bytes[(start + 1)..<(start + recordSize)]
      }
    }
    let shape = Shape(labels.count, 3, side, side)
    return Dataset(bytes: storage, shape: shape, labels: labels, classNames: classNames)
  }

  private static func batchFolder(_ folder: String) -> String? {
    for root in [folder, Path.join(folder, "cifar-10-batches-bin")] {
      let names = trainFiles + [testFile]
      if names.contains(where: { Path.isFile(Path.join(root, $0)) }) { return root }
    }
    return nil
  }
}
