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
  ///   - reading: decoding threads, bad-file policy, the decoded cache and
  ///     progress (see `ImageFolderReading`).
  public static func load(
    folder: String, channels: Int? = nil, seed: UInt64, limit: Int? = nil,
    size: SampleSize? = nil, decodeOptions: DecodeOptions = .default,
    reading: ImageFolderReading = ImageFolderReading()
  ) throws(DatasetError) -> DatasetSplits {
    let trainRoot = Path.join(folder, "train")
    let testRoot = Path.join(folder, "test")
    let split = Path.isDirectory(trainRoot) && looksLike(trainRoot)
    let trainListing = try listing(root: split ? trainRoot : folder)
    func shuffled(_ files: [LabeledFile]) -> [LabeledFile] {
      var files = files
      var generator = SeededGenerator(seed: seed)
      files.seededShuffle(using: &generator)
      if let limit { files = Array(files.prefix(max(limit, 1))) }
      return files
    }
    let trainFiles = shuffled(trainListing.files)
    var testFiles: [LabeledFile]?
    if split && Path.isDirectory(testRoot) {
      testFiles = shuffled(try listing(root: testRoot, classNames: trainListing.classNames).files)
    }

    var cache: DecodedCache?
    var notes: [String] = []
    if let cacheFolder = reading.cacheFolder {
      let entry = DecodedCache(
        folder: cacheFolder, root: folder, classNames: trainListing.classNames,
        parts: [trainFiles] + (testFiles.map { [$0] } ?? []),
        settings: [
          "channels=\(channels.map(String.init) ?? "natural")",
          "size=\(size.map { "\($0.height)x\($0.width) \($0.resize)" } ?? "as is")"
            + (size?.shorterSide.map { " shorter=\($0)" } ?? ""),
          "limit=\(limit.map(String.init) ?? "none") seed=\(seed)",
          "pixelLimit=\(decodeOptions.pixelLimit) exif=\(decodeOptions.appliesEXIFOrientation)",
          "lenient=\(decodeOptions.lenient) skipBad=\(reading.skipBad)",
          "jpegUpsampling=\(decodeOptions.jpegUpsampling) jpegDCT=\(decodeOptions.jpegDCT)",
        ])
      switch entry.read() {
      case .found(var splits):
        splits.notes.append("decoded images from the cache \(entry.path)")
        return splits
      case .absent: break
      case .unusable(let reason):
        notes.append("rebuilding the decoded cache \(entry.path): \(reason)")
      }
      cache = entry
    }

    let total = trainFiles.count + (testFiles?.count ?? 0)
    let counter = ProgressCounter(total: total, report: reading.progress)
    let train = try decodeAll(
      trainFiles, classNames: trainListing.classNames, channels: channels, size: size,
      options: decodeOptions, reading: reading, counter: counter)
    var test: DecodedPart?
    if let testFiles {
      let decoded = try decodeAll(
        testFiles, classNames: trainListing.classNames, channels: train.dataset.sampleShape[0],
        size: size, options: decodeOptions, reading: reading, counter: counter)
      if decoded.dataset.sampleShape != train.dataset.sampleShape, let first = testFiles.first {
        throw .imageSizeMismatch(
          path: first.path, width: decoded.dataset.sampleShape[2],
          height: decoded.dataset.sampleShape[1], expectedWidth: train.dataset.sampleShape[2],
          expectedHeight: train.dataset.sampleShape[1])
      }
      test = decoded
    }
    var splits = DatasetSplits(
      train: train.dataset, test: test?.dataset, format: .imageFolder,
      warnings: train.warnings + (test?.warnings ?? []))
    splits.skipped = train.skipped + (test?.skipped ?? [])
    if let cache {
      do {
        try cache.write(splits)
      } catch {
        notes.append("could not write the decoded cache: \(error)")
      }
    }
    splits.notes = notes
    return splits
  }

  /// One image file and the class it belongs to.
  struct LabeledFile: Equatable {
    var path: String
    var label: Int
    /// Size and modification time when listed: what the decoded cache compares.
    var status: FileStatus? = nil
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
      let images = try list(classFolder).compactMap { name -> LabeledFile? in
        let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        guard name.contains("."), ImageFormat.readableExtensions.contains(ext) else { return nil }
        let path = Path.join(classFolder, name)
        guard let status = Path.status(of: path), status.kind == .regular else { return nil }
        return LabeledFile(path: path, label: label, status: status)
      }
      guard !images.isEmpty else { throw .emptyClass(path: classFolder) }
      files += images
    }
    return (files, known ?? classNames)
  }

  /// One part (train or test) decoded: its data set, the damaged images a
  /// lenient decode accepted and the files `skipBad` left out, in file order.
  struct DecodedPart {
    var dataset: Dataset
    var warnings: [CodecWarning]
    var skipped: [SkippedImage]
  }

  /// Decodes `files` in parallel (`reading.threads` workers) into one
  /// (N, C, H, W) data set, in order, whatever the thread count.
  ///
  /// With a `size` whose mode resizes, every image is resized to it.
  /// Otherwise all images must share one size: the first file's size is
  /// expected of the others, and a file whose header declares another is not
  /// decoded. When sizes differ, the size most files have is taken as right
  /// and the first file of another size is named. The channel count is
  /// `channels`, or the first file's when nil. When several files fail, the
  /// earliest in `files` is reported, so errors do not depend on thread
  /// timing. With `reading.skipBad`, a file that fails (or, without
  /// resizing, differs in size from the first readable one) is left out and
  /// listed instead; nothing readable at all is still an error.
  static func decodeAll(
    _ files: [LabeledFile], classNames: [String], channels: Int?, size: SampleSize? = nil,
    options: DecodeOptions, reading: ImageFolderReading = ImageFolderReading(),
    counter: ProgressCounter? = nil
  ) throws(DatasetError) -> DecodedPart {
    precondition(!files.isEmpty, "decodeAll needs at least one file")
    var skipped: [SkippedImage] = []
    var firstWarning: CodecWarning?
    var start = 0
    var decodedFirst: Image?
    while decodedFirst == nil {
      do throws(DatasetError) {
        decodedFirst = try decodeOne(files[start].path, options: options) { firstWarning = $0 }
      } catch {
        guard reading.skipBad else { throw error }
        skipped.append(SkippedImage(path: files[start].path, reason: error.description))
        counter?.advance()
        start += 1
        guard start < files.count else {
          throw .nothingReadable(
            path: Path.folder(of: Path.folder(of: files[0].path)), skipped: files.count)
        }
      }
    }
    guard let first = decodedFirst else { preconditionFailure("the loop ends with an image") }
    counter?.advance()
    let c = channels ?? PixelConversion.naturalChannels(first.layout)
    let resize = size.map { $0.resize == .none ? nil : $0 } ?? nil
    let (h, w) = resize.map { ($0.height, $0.width) } ?? (first.height, first.width)
    var expecting = options
    if resize == nil { expecting.expectedSize = ImageSize(width: w, height: h) }
    let sameSize = expecting
    let sampleCount = c * h * w
    let part = Array(files[start...])
    let count = part.count
    var failures = [DatasetError?](repeating: nil, count: count)
    var warnings = [CodecWarning?](repeating: nil, count: count)
    warnings[0] = firstWarning
    var sizes = [ImageSize](repeating: ImageSize(width: w, height: h), count: count)
    // Decoded a chunk of files at a time into floats, kept as bytes while
    // every value is exactly b / 255 (a quarter of the memory), as floats
    // from the first chunk that is not.
    var bytes: [UInt8]? = []
    bytes?.reserveCapacity(count * sampleCount)
    var floats: [Float] = []
    let chunkFiles = max(1, min(count, reading.chunkBytes / (4 * sampleCount)))
    var chunk = [Float](repeating: 0, count: chunkFiles * sampleCount)
    for chunkStart in stride(from: 0, to: count, by: chunkFiles) {
      let chunkCount = min(chunkFiles, count - chunkStart)
      let threads = max(1, min(reading.threads, chunkCount))
      chunk.withUnsafeMutableBufferPointer { chunkBuffer in
        failures.withUnsafeMutableBufferPointer { failureBuffer in
          warnings.withUnsafeMutableBufferPointer { warningBuffer in
            sizes.withUnsafeMutableBufferPointer { sizeBuffer in
              // Each index is written by exactly one worker, so no two
              // threads touch the same element.
              nonisolated(unsafe) let planes = chunkBuffer
              nonisolated(unsafe) let errors = failureBuffer
              nonisolated(unsafe) let accepted = warningBuffer
              nonisolated(unsafe) let imageSizes = sizeBuffer
              DispatchQueue.concurrentPerform(iterations: threads) { worker in
                for j in stride(from: worker, to: chunkCount, by: threads) {
                  let i = chunkStart + j
                  defer { if i > 0 { counter?.advance() } }
                  let slot = UnsafeMutableBufferPointer(
                    rebasing: planes[(j * sampleCount)..<((j + 1) * sampleCount)])
                  do throws(DatasetError) {
                    let image =
                      i == 0
                      ? first
                      : try decodeOne(part[i].path, options: sameSize) { accepted[i] = $0 }
                    if let resize,
                      let sample = PixelConversion.sample(
                        of: image, channels: c, height: h, width: w, resize: resize.resize,
                        shorterSide: resize.shorterSide)
                    {
                      _ = slot.update(fromContentsOf: sample)
                      continue
                    }
                    // Without resizing the header check made the size (w, h).
                    PixelConversion.writePlanes(of: image, channels: c, into: slot)
                  } catch .imageCodec(.unexpectedSize(_, let width, let height, _, _)) {
                    imageSizes[i] = ImageSize(width: width, height: height)
                    slot.update(repeating: 0)
                  } catch {
                    errors[i] = error
                    slot.update(repeating: 0)
                  }
                }
              }
            }
          }
        }
      }
      let decoded = chunk[0..<(chunkCount * sampleCount)]
      let exact =
        bytes != nil
        && decoded.withUnsafeBufferPointer { PixelConversion.appendExactBytes($0, to: &bytes!) }
      if !exact {
        if let held = bytes {
          floats = held.map { PixelConversion.unitScale[Int($0)] }
          bytes = nil
        }
        floats += decoded
      }
    }
    func dataset(keeping kept: [Int]?) -> Dataset {
      let n = kept?.count ?? count
      let labels = kept.map { $0.map { part[$0].label } } ?? part.map(\.label)
      let shape = Shape(n, c, h, w)
      if var held = bytes {
        if let kept { compact(&held, keeping: kept, stride: sampleCount) }
        return Dataset(bytes: held, shape: shape, labels: labels, classNames: classNames)
      }
      var values = floats
      floats = []
      if let kept { compact(&values, keeping: kept, stride: sampleCount) }
      return Dataset(
        images: Tensor(shape: shape, storage: values), labels: labels, classNames: classNames)
    }
    guard reading.skipBad else {
      if let failure = failures.first(where: { $0 != nil }), let failure { throw failure }
      if let odd = oddSize(part, sizes) { throw odd }
      return DecodedPart(
        dataset: dataset(keeping: nil), warnings: warnings.compactMap { $0 }, skipped: [])
    }
    // Leave out what failed or has another size.
    let expected = ImageSize(width: w, height: h)
    var kept: [Int] = []
    for i in 0..<count {
      if let failure = failures[i] {
        skipped.append(SkippedImage(path: part[i].path, reason: failure.description))
      } else if sizes[i] != expected {
        let mismatch = DatasetError.imageSizeMismatch(
          path: part[i].path, width: sizes[i].width, height: sizes[i].height,
          expectedWidth: w, expectedHeight: h)
        skipped.append(SkippedImage(path: part[i].path, reason: mismatch.description))
      } else {
        kept.append(i)
      }
    }
    return DecodedPart(
      dataset: dataset(keeping: kept), warnings: kept.compactMap { warnings[$0] },
      skipped: skipped)
  }

  /// Keeps the samples (`stride` values each) at the ascending indices
  /// `kept`, in order: each only ever moves to a lower offset.
  private static func compact<T>(_ values: inout [T], keeping kept: [Int], stride: Int) {
    values.withUnsafeMutableBufferPointer { buffer in
      let base = buffer.baseAddress!
      for (to, from) in kept.enumerated() where to != from {
        (base + to * stride).update(from: base + from * stride, count: stride)
      }
    }
    values.removeLast(values.count - kept.count * stride)
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
