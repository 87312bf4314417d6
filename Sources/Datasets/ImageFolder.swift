import Dispatch
import ImageCodecs
import Tensors

/// Loads a data set laid out as one sub-folder of images per class.
///
/// ```
/// root/airplane/0000.png      or   root/train/airplane/0000.jpg
/// root/automobile/0000.png         root/test/airplane/0000.jpg
/// ```
/// Classes are the sub-folder names sorted by byte value, as in Keras's
/// `image_dataset_from_directory`. Files with extension png, jpg or jpeg (any
/// case) are read; other files are ignored. Images are resized to a given
/// `SampleSize`; without one (or with `--resize none`) all must share one size.
public enum ImageFolder {
  /// Decodes one image file. `CodecError`s become `imageCodec`, other
  /// errors `undecodableImage`.
  public typealias Decoder = @Sendable (String) throws -> Image

  /// PNG and JPEG through ImageCodecs, with its default options.
  public static let imageCodecs: Decoder = { path in try ImageFile.read(path) }

  static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]
  /// Worker threads for decoding: the machine this targets has two cores.
  static let decodingThreads = 2

  /// Whether `folder` holds class sub-folders, directly or under `train/`.
  public static func looksLike(_ folder: String) -> Bool {
    guard let names = try? FileSystem.contents(of: folder) else { return false }
    return names.contains { FileSystem.isDirectory(FileSystem.join(folder, $0)) }
  }

  /// Reads the training part and, when `root/train` and `root/test` exist,
  /// the test part, each shuffled with `seed`.
  ///
  /// The training files are shuffled before anything else so that a
  /// validation split taken from the end holds every class, as Keras does.
  /// Test files are shuffled too, so that a `limit` keeps every class there.
  /// - Parameters:
  ///   - channels: 1 or 3; nil takes it from the first image (gray → 1,
  ///     colour → 3).
  ///   - limit: decode only the first `limit` files of each part, after
  ///     shuffling (quick runs on big folders).
  ///   - size: bring every image to this size (nil: keep the common size).
  public static func load(
    folder: String, channels: Int? = nil, seed: UInt64, limit: Int? = nil,
    size: SampleSize? = nil, decode: Decoder = imageCodecs
  ) throws(DatasetError) -> DatasetSplits {
    let trainRoot = FileSystem.join(folder, "train")
    let testRoot = FileSystem.join(folder, "test")
    let split = FileSystem.isDirectory(trainRoot) && looksLike(trainRoot)
    let trainFiles = try listing(root: split ? trainRoot : folder)
    var files = trainFiles.files
    var generator = SeededGenerator(seed: seed)
    files.seededShuffle(using: &generator)
    if let limit { files = Array(files.prefix(max(limit, 1))) }
    let train = try decodeAll(
      files, classNames: trainFiles.classNames, channels: channels, size: size, decode: decode)
    var test: Dataset?
    if split && FileSystem.isDirectory(testRoot) {
      let testFiles = try listing(root: testRoot, classNames: trainFiles.classNames)
      var files = testFiles.files
      var generator = SeededGenerator(seed: seed)
      files.seededShuffle(using: &generator)
      if let limit { files = Array(files.prefix(max(limit, 1))) }
      test = try decodeAll(
        files, classNames: trainFiles.classNames, channels: train.sampleShape[0], size: size,
        decode: decode)
      if let test, test.sampleShape != train.sampleShape, let first = files.first {
        throw .imageSizeMismatch(
          path: first.path, width: test.sampleShape[2], height: test.sampleShape[1],
          expectedWidth: train.sampleShape[2], expectedHeight: train.sampleShape[1])
      }
    }
    return DatasetSplits(train: train, test: test, format: .imageFolder)
  }

  /// One image file and the class it belongs to.
  struct LabeledFile: Equatable {
    var path: String
    var label: Int
  }

  /// Lists `root/<class>/<image>` in class order, then file-name order.
  ///
  /// With `classNames` given (a test part), every class folder must be one of
  /// them; a class of the training part may be absent from the test part.
  static func listing(
    root: String, classNames known: [String]? = nil
  ) throws(DatasetError) -> (files: [LabeledFile], classNames: [String]) {
    let classNames = try FileSystem.contents(of: root).filter {
      FileSystem.isDirectory(FileSystem.join(root, $0))
    }
    guard !classNames.isEmpty else { throw .noClasses(path: root) }
    var files: [LabeledFile] = []
    for (index, name) in classNames.enumerated() {
      let classFolder = FileSystem.join(root, name)
      var label = index
      if let known {
        guard let trainIndex = known.firstIndex(of: name) else {
          throw .unknownClass(path: classFolder, knownClasses: known)
        }
        label = trainIndex
      }
      let images = try FileSystem.contents(of: classFolder).filter { name in
        let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        return name.contains(".") && imageExtensions.contains(ext)
          && FileSystem.isFile(FileSystem.join(classFolder, name))
      }
      guard !images.isEmpty else { throw .emptyClass(path: classFolder) }
      files += images.map { LabeledFile(path: FileSystem.join(classFolder, $0), label: label) }
    }
    return (files, known ?? classNames)
  }

  /// Decodes `files` in parallel into one (N, C, H, W) data set, in order.
  ///
  /// With a `size` whose mode resizes, every image is resized to it.
  /// Otherwise all images must share one size; when they do not, the size
  /// most files have is taken as right and the first file of another size
  /// is named.
  /// The channel count is `channels`, or the first file's when nil. When
  /// several files fail, the earliest in `files` is reported, so errors do not
  /// depend on thread timing.
  static func decodeAll(
    _ files: [LabeledFile], classNames: [String], channels: Int?, size: SampleSize? = nil,
    decode: Decoder
  ) throws(DatasetError) -> Dataset {
    precondition(!files.isEmpty, "decodeAll needs at least one file")
    let first = try decodeOne(files[0].path, decode: decode)
    let c = channels ?? PixelConversion.naturalChannels(first.layout)
    let resize = size.map { $0.resize == .none ? nil : $0 } ?? nil
    let (h, w) = resize.map { ($0.height, $0.width) } ?? (first.height, first.width)
    let sampleCount = c * h * w
    var storage = [Float](repeating: 0, count: files.count * sampleCount)
    var failures = [DatasetError?](repeating: nil, count: files.count)
    var sizes = [ImageSize](repeating: ImageSize(width: w, height: h), count: files.count)
    storage.withUnsafeMutableBufferPointer { storageBuffer in
      failures.withUnsafeMutableBufferPointer { failureBuffer in
        sizes.withUnsafeMutableBufferPointer { sizeBuffer in
          // Each index is written by exactly one worker, so no two threads
          // touch the same element.
          nonisolated(unsafe) let planes = storageBuffer
          nonisolated(unsafe) let errors = failureBuffer
          nonisolated(unsafe) let imageSizes = sizeBuffer
          DispatchQueue.concurrentPerform(iterations: decodingThreads) { worker in
            for i in stride(from: worker, to: files.count, by: decodingThreads) {
              do throws(DatasetError) {
                let image = i == 0 ? first : try decodeOne(files[i].path, decode: decode)
                let slot = UnsafeMutableBufferPointer(
                  rebasing: planes[(i * sampleCount)..<((i + 1) * sampleCount)])
                if let resize,
                  let sample = PixelConversion.sample(
                    of: image, channels: c, height: h, width: w, resize: resize.resize)
                {
                  _ = slot.update(fromContentsOf: sample)
                  continue
                }
                imageSizes[i] = ImageSize(width: image.width, height: image.height)
                guard image.width == w, image.height == h else { continue }
                PixelConversion.writePlanes(of: image, channels: c, into: slot)
              } catch {
                errors[i] = error
              }
            }
          }
        }
      }
    }
    if let failure = failures.first(where: { $0 != nil }), let failure { throw failure }
    if let odd = oddSize(files, sizes) { throw odd }
    return Dataset(
      images: Tensor(shape: Shape(files.count, c, h, w), storage: storage),
      labels: files.map(\.label), classNames: classNames)
  }

  struct ImageSize: Hashable {
    var width: Int
    var height: Int
  }

  /// The error for the first file whose size differs from the most common one.
  private static func oddSize(_ files: [LabeledFile], _ sizes: [ImageSize]) -> DatasetError? {
    var tally: [ImageSize: Int] = [:]
    for size in sizes { tally[size, default: 0] += 1 }
    guard tally.count > 1, let best = tally.values.max(),
      // Ties go to the size met first, so the answer does not depend on hashing.
      let common = sizes.first(where: { tally[$0] == best }),
      let i = sizes.firstIndex(where: { $0 != common })
    else { return nil }
    return .imageSizeMismatch(
      path: files[i].path, width: sizes[i].width, height: sizes[i].height,
      expectedWidth: common.width, expectedHeight: common.height)
  }

  private static func decodeOne(_ path: String, decode: Decoder) throws(DatasetError) -> Image {
    do {
      return try decode(path)
    } catch let error as DatasetError {
      throw error
    } catch let error as CodecError {
      throw .imageCodec(error)
    } catch {
      throw .undecodableImage(path: path, message: String(describing: error))
    }
  }
}
