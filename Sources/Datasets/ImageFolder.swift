import Dispatch
import Files
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
/// `SampleSize`; without one (or with `--resize none`) all must share one
/// size, and each file's header is checked against it before its pixels are
/// decoded.
public enum ImageFolder {
  static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]
  /// Worker threads for decoding: the machine this targets has two cores.
  static let decodingThreads = 2

  /// Whether `folder` holds class sub-folders, directly or under `train/`.
  public static func looksLike(_ folder: String) -> Bool {
    guard let names = try? Folder.list(folder) else { return false }
    return names.contains { Path.isDirectory(Path.join(folder, $0)) }
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
  ///   - decodeOptions: pixel limit, orientation and leniency of decoding;
  ///     images with damaged data that a lenient decode accepted are listed
  ///     in the result's `warnings`.
  public static func load(
    folder: String, channels: Int? = nil, seed: UInt64, limit: Int? = nil,
    size: SampleSize? = nil, decodeOptions: DecodeOptions = .default
  ) throws(DatasetError) -> DatasetSplits {
    let trainRoot = Path.join(folder, "train")
    let testRoot = Path.join(folder, "test")
    let split = Path.isDirectory(trainRoot) && looksLike(trainRoot)
    let trainFiles = try listing(root: split ? trainRoot : folder)
    var files = trainFiles.files
    var generator = SeededGenerator(seed: seed)
    files.seededShuffle(using: &generator)
    if let limit { files = Array(files.prefix(max(limit, 1))) }
    let (train, trainWarnings) = try decodeAll(
      files, classNames: trainFiles.classNames, channels: channels, size: size,
      options: decodeOptions)
    var test: Dataset?
    var testWarnings: [CodecWarning] = []
    if split && Path.isDirectory(testRoot) {
      let testFiles = try listing(root: testRoot, classNames: trainFiles.classNames)
      var files = testFiles.files
      var generator = SeededGenerator(seed: seed)
      files.seededShuffle(using: &generator)
      if let limit { files = Array(files.prefix(max(limit, 1))) }
      let decoded = try decodeAll(
        files, classNames: trainFiles.classNames, channels: train.sampleShape[0], size: size,
        options: decodeOptions)
      (test, testWarnings) = (decoded.dataset, decoded.warnings)
      if let test, test.sampleShape != train.sampleShape, let first = files.first {
        throw .imageSizeMismatch(
          path: first.path, width: test.sampleShape[2], height: test.sampleShape[1],
          expectedWidth: train.sampleShape[2], expectedHeight: train.sampleShape[1])
      }
    }
    return DatasetSplits(
      train: train, test: test, format: .imageFolder, warnings: trainWarnings + testWarnings)
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
    let classNames = try list(root).filter {
      Path.isDirectory(Path.join(root, $0))
    }
    guard !classNames.isEmpty else { throw .noClasses(path: root) }
    var files: [LabeledFile] = []
    for (index, name) in classNames.enumerated() {
      let classFolder = Path.join(root, name)
      var label = index
      if let known {
        guard let trainIndex = known.firstIndex(of: name) else {
          throw .unknownClass(path: classFolder, knownClasses: known)
        }
        label = trainIndex
      }
      let images = try list(classFolder).filter { name in
        let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        return name.contains(".") && imageExtensions.contains(ext)
          && Path.isFile(Path.join(classFolder, name))
      }
      guard !images.isEmpty else { throw .emptyClass(path: classFolder) }
      files += images.map { LabeledFile(path: Path.join(classFolder, $0), label: label) }
    }
    return (files, known ?? classNames)
  }

  /// Decodes `files` in parallel into one (N, C, H, W) data set, in order,
  /// and lists the damaged images a lenient decode accepted.
  ///
  /// With a `size` whose mode resizes, every image is resized to it.
  /// Otherwise all images must share one size: the first file's size is
  /// expected of the others, and a file whose header declares another is not
  /// decoded. When sizes differ, the size most files have is taken as right
  /// and the first file of another size is named. The channel count is
  /// `channels`, or the first file's when nil. When several files fail, the
  /// earliest in `files` is reported, so errors do not depend on thread
  /// timing.
  static func decodeAll(
    _ files: [LabeledFile], classNames: [String], channels: Int?, size: SampleSize? = nil,
    options: DecodeOptions
  ) throws(DatasetError) -> (dataset: Dataset, warnings: [CodecWarning]) {
    precondition(!files.isEmpty, "decodeAll needs at least one file")
    var firstWarning: CodecWarning?
    let first = try decodeOne(files[0].path, options: options) { firstWarning = $0 }
    let c = channels ?? PixelConversion.naturalChannels(first.layout)
    let resize = size.map { $0.resize == .none ? nil : $0 } ?? nil
    let (h, w) = resize.map { ($0.height, $0.width) } ?? (first.height, first.width)
    var expecting = options
    if resize == nil { expecting.expectedSize = ImageSize(width: w, height: h) }
    let sameSize = expecting
    let sampleCount = c * h * w
    var storage = [Float](repeating: 0, count: files.count * sampleCount)
    var failures = [DatasetError?](repeating: nil, count: files.count)
    var warnings = [CodecWarning?](repeating: nil, count: files.count)
    warnings[0] = firstWarning
    var sizes = [ImageSize](repeating: ImageSize(width: w, height: h), count: files.count)
    storage.withUnsafeMutableBufferPointer { storageBuffer in
      failures.withUnsafeMutableBufferPointer { failureBuffer in
        warnings.withUnsafeMutableBufferPointer { warningBuffer in
          sizes.withUnsafeMutableBufferPointer { sizeBuffer in
            // Each index is written by exactly one worker, so no two threads
            // touch the same element.
            nonisolated(unsafe) let planes = storageBuffer
            nonisolated(unsafe) let errors = failureBuffer
            nonisolated(unsafe) let accepted = warningBuffer
            nonisolated(unsafe) let imageSizes = sizeBuffer
            DispatchQueue.concurrentPerform(iterations: decodingThreads) { worker in
              for i in stride(from: worker, to: files.count, by: decodingThreads) {
                do throws(DatasetError) {
                  let image =
                    i == 0
                    ? first
                    : try decodeOne(files[i].path, options: sameSize) { accepted[i] = $0 }
                  let slot = UnsafeMutableBufferPointer(
                    rebasing: planes[(i * sampleCount)..<((i + 1) * sampleCount)])
                  if let resize,
                    let sample = PixelConversion.sample(
                      of: image, channels: c, height: h, width: w, resize: resize.resize)
                  {
                    _ = slot.update(fromContentsOf: sample)
                    continue
                  }
                  // Without resizing the header check made the size (w, h).
                  PixelConversion.writePlanes(of: image, channels: c, into: slot)
                } catch .imageCodec(.unexpectedSize(_, let width, let height, _, _)) {
                  imageSizes[i] = ImageSize(width: width, height: height)
                } catch {
                  errors[i] = error
                }
              }
            }
          }
        }
      }
    }
    if let failure = failures.first(where: { $0 != nil }), let failure { throw failure }
    if let odd = oddSize(files, sizes) { throw odd }
    let dataset = Dataset(
      images: Tensor(shape: Shape(files.count, c, h, w), storage: storage),
      labels: files.map(\.label), classNames: classNames)
    return (dataset, warnings.compactMap { $0 })
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

  private static func decodeOne(
    _ path: String, options: DecodeOptions, warning: (CodecWarning) -> Void
  ) throws(DatasetError) -> Image {
    do {
      return try ImageFile.read(path, options: options, warning: warning)
    } catch {
      throw .imageCodec(error)
    }
  }

  private static func list(_ folder: String) throws(DatasetError) -> [String] {
    do {
      return try Folder.list(folder)
    } catch {
      throw .file(error)
    }
  }
}
